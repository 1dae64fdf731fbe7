package blocks_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"testing"
)

// TestExportedFieldsDocumented: every exported, named field of a struct
// type in errors.go and block.go has a doc or line comment (the audit's
// rule for exported names; embedded fields are documented by their type).
func TestExportedFieldsDocumented(t *testing.T) {
	fset := token.NewFileSet()
	checked := 0
	for _, name := range []string{"errors.go", "block.go"} {
		f, err := parser.ParseFile(fset, name, nil, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			ts, ok := n.(*ast.TypeSpec)
			if !ok || !ts.Name.IsExported() {
				return true
			}
			st, ok := ts.Type.(*ast.StructType)
			if !ok {
				return true
			}
			for _, fld := range st.Fields.List {
				for _, id := range fld.Names {
					if !id.IsExported() {
						continue
					}
					checked++
					if fld.Doc == nil && fld.Comment == nil {
						t.Errorf("%s: %s.%s has no comment", fset.Position(id.Pos()), ts.Name.Name, id.Name)
					}
				}
			}
			return true
		})
	}
	if checked == 0 {
		t.Fatal("no exported struct fields found")
	}
}

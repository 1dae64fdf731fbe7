package gen

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestJSONName: JSON member names are the Go field names in lower camel
// case, initialisms as words, as watch --json has always printed them.
func TestJSONName(t *testing.T) {
	for in, want := range map[string]string{
		"ChainID": "chainId", "EVMOutput": "evmOutput", "YParity": "yParity", "ID": "id", "TxnHash": "txnHash",
		"EVMCStatus": "evmcStatus", "BlockQC": "blockQc", "Secp256k1Pubkey": "secp256k1Pubkey", "R": "r",
		"TransactionsRoot": "transactionsRoot", "IsValidAuthority": "isValidAuthority", "Code": "code",
	} {
		if got := jsonName(in); got != want {
			t.Errorf("jsonName(%s) = %s, want %s", in, got, want)
		}
	}
}

// TestRuntimeNames keeps runtimeNames equal to the exported identifiers of
// execevents' hand-written runtime, which generated names must not take.
func TestRuntimeNames(t *testing.T) {
	paths, err := filepath.Glob("../execevents/*.go")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	fset := token.NewFileSet()
	for _, p := range paths {
		base := filepath.Base(p)
		if strings.HasPrefix(base, "z") || strings.HasSuffix(base, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, p, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if d.Recv == nil && d.Name.IsExported() {
					names = append(names, d.Name.Name)
				}
			case *ast.GenDecl:
				for _, s := range d.Specs {
					switch s := s.(type) {
					case *ast.TypeSpec:
						if s.Name.IsExported() {
							names = append(names, s.Name.Name)
						}
					case *ast.ValueSpec:
						for _, n := range s.Names {
							if n.IsExported() {
								names = append(names, n.Name)
							}
						}
					}
				}
			}
		}
	}
	slices.Sort(names)
	want := slices.Clone(runtimeNames)
	slices.Sort(want)
	if !slices.Equal(names, want) {
		t.Errorf("execevents' runtime exports %v, runtimeNames lists %v", names, want)
	}
}

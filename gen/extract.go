package gen

import (
	"fmt"
	"io/fs"
	"slices"
	"strings"

	"modernc.org/cc/v4"
)

// defaultEntries are the files under the root that define the EXEC schema.
var defaultEntries = []string{
	"category/core/event/event_ring.h",
	"category/execution/ethereum/event/exec_event_ctypes.h",
	"category/execution/ethereum/event/exec_event_ctypes_metadata.c",
}

// buildModel parses the entry files of a header tree (with whatever they include)
// and returns the model. rules are the trailing-array rules to apply
// ([trailingRules] when nil).
func buildModel(root fs.FS, entries []string, rules []trailingRule) (*model, error) {
	if len(entries) == 0 {
		entries = defaultEntries
	}
	if rules == nil {
		rules = trailingRules
	}
	ast, sfs, err := translate(root, entries)
	if err != nil {
		return nil, err
	}
	b := &builder{ast: ast, m: &model{Structs: map[string]*cStruct{}, Enums: map[string]*cEnum{}}, alignas: map[*cc.Declarator]int64{}}
	if err := b.collect(); err != nil {
		return nil, err
	}
	if err := b.constants(sfs.consts); err != nil {
		return nil, err
	}
	b.macroConstants(sfs.guards)
	b.sortConstants(sfs.order)
	if err := b.events(); err != nil {
		return nil, err
	}
	b.applyRules(rules)
	b.expectConstants()
	return b.m, nil
}

type builder struct {
	ast *cc.AST
	m   *model
	// alignas holds the alignas(N) of struct members, which cc/v4 keeps
	// private; read from the member declarations.
	alignas map[*cc.Declarator]int64
	// metadata and hash are the initialized declarators found.
	metadata, hash []*cc.Declarator
}

// inTree reports whether a node comes from the header tree (not the
// embedded libc or the synthetic sources) and returns its path.
func inTree(n cc.Node) (string, bool) {
	f := n.Position().Filename
	rel, ok := strings.CutPrefix(f, srcDir+"/")
	return rel, ok
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func (b *builder) collect() error {
	nodes := b.ast.Scope.Nodes
	for _, name := range sortedKeys(nodes) {
		for _, n := range nodes[name] {
			file, ok := inTree(n)
			if !ok {
				continue
			}
			switch x := n.(type) {
			case *cc.StructOrUnionSpecifier:
				b.memberAlignas(x)
				st, ok := x.Type().(*cc.StructType)
				if !ok || st.IsIncomplete() {
					continue
				}
				s, err := b.structOf(name, st)
				if err != nil {
					return err
				}
				s.File = file
				b.m.Structs[name] = s
			case *cc.EnumSpecifier:
				et, ok := x.Type().(*cc.EnumType)
				if !ok || len(et.Enumerators()) == 0 {
					continue // a forward declaration
				}
				e := b.enumOf(name, et)
				e.File = file
				b.m.Enums[name] = e
			case *cc.Declarator:
				if x.IsTypename() {
					if err := b.typedef(name, file, x); err != nil {
						return err
					}
					continue
				}
				if !x.HasInitializer() {
					continue
				}
				switch t := x.Type().(type) {
				case *cc.ArrayType:
					if t.Len() == 32 && t.Elem().Kind() == cc.UChar {
						b.hash = append(b.hash, x)
					}
					if st, ok := t.Elem().(*cc.StructType); ok &&
						st.FieldByName("c_name") != nil && st.FieldByName("description") != nil && st.FieldByName("event_type") != nil {
						b.metadata = append(b.metadata, x)
					}
				}
			}
		}
	}
	return nil
}

func (b *builder) typedef(name, file string, d *cc.Declarator) error {
	t := d.Type()
	switch t.Kind() {
	case cc.Struct:
		st := t.(*cc.StructType)
		tag := tagOf(st.Tag())
		s, err := b.structOf(name, st)
		if err != nil {
			return err
		}
		s.File = file
		switch tag {
		case "":
			s.Anonymous = true
		case name:
			// typedef struct x {...} x: one type under both names.
		default:
			s.Typedef = true
			s.TypedefOf = "struct " + tag
		}
		b.m.Structs[name] = s
	default:
		mt, err := b.typeOf(t)
		if err != nil || mt.Kind != kindInt && mt.Kind != kindBool && mt.Kind != kindEnum {
			return nil // not a payload candidate (function pointers, ...)
		}
		if mt.CType == name && mt.Kind == kindInt {
			mt.CType, _ = intCType(t.Kind(), t.Size())
		}
		b.m.Structs[name] = &cStruct{
			Name: name, Size: t.Size(), Align: int64(t.Align()),
			Typedef: true, TypedefOf: mt.CType, Scalar: &mt, File: file,
		}
	}
	return nil
}

func (b *builder) structOf(name string, st *cc.StructType) (*cStruct, error) {
	s := &cStruct{Name: name, Size: st.Size(), Align: int64(st.Align())}
	for i := 0; i < st.NumFields(); i++ {
		f := st.FieldByIndex(i)
		ft, err := b.typeOf(f.Type())
		if err != nil {
			return nil, fmt.Errorf("struct %s member %s: %w", name, f.Name(), err)
		}
		mf := cField{
			Name:   f.Name(),
			Offset: f.Offset(),
			Size:   max(f.Type().Size(), 0), // -1 for a flexible array member
			Align:  int64(f.Type().Align()),
			Type:   ft,
		}
		if d := f.Declarator(); d != nil {
			mf.Alignas = b.alignas[d]
		}
		if f.IsBitfield() {
			mf.BitField = true
			mf.Bits = f.ValueBits()
			mf.BitOffset = int64(f.OffsetBits())
			mf.Size = f.AccessBytes()
		}
		s.Fields = append(s.Fields, mf)
	}
	return s, nil
}

func intCType(k cc.Kind, size int64) (string, bool) {
	switch k {
	case cc.SChar, cc.Short, cc.Int, cc.Long, cc.LongLong:
		return fmt.Sprintf("int%d_t", size*8), true
	case cc.UChar, cc.UShort, cc.UInt, cc.ULong, cc.ULongLong:
		return fmt.Sprintf("uint%d_t", size*8), false
	}
	return "", false
}

func (b *builder) typeOf(t cc.Type) (cType, error) {
	r := cType{Size: t.Size(), Align: int64(t.Align())}
	if d := t.Typedef(); d != nil {
		r.CType = d.Name()
	}
	switch k := t.Kind(); k {
	case cc.Bool:
		r.Kind = kindBool
		if r.CType == "" {
			r.CType = "bool"
		}
	case cc.Char:
		r.Kind = kindChar
		if r.CType == "" {
			r.CType = "char"
		}
	case cc.SChar, cc.Short, cc.Int, cc.Long, cc.LongLong, cc.UChar, cc.UShort, cc.UInt, cc.ULong, cc.ULongLong:
		r.Kind = kindInt
		spell, signed := intCType(k, r.Size)
		r.Signed = signed
		if r.CType == "" {
			r.CType = spell
		}
	case cc.UInt128:
		r.Kind = kindUint128
		if r.CType == "" {
			r.CType = "__uint128_t"
		}
	case cc.Enum:
		r.Kind = kindEnum
		r.Name = tagOf(t.(*cc.EnumType).Tag())
		if r.CType == "" {
			r.CType = "enum " + r.Name
		}
	case cc.Struct:
		r.Kind = kindStruct
		st := t.(*cc.StructType)
		r.Name = tagOf(st.Tag())
		if r.Name == "" {
			r.Name = r.CType // anonymous struct known by its typedef name
		}
		if r.Name == "" {
			// A member declared with an unnamed struct type: the model
			// has no name for it, so it is kept as bytes.
			r.Kind, r.CType = kindOther, "struct {...}"
			break
		}
		if r.CType == "" {
			r.CType = "struct " + r.Name
		}
	case cc.Array:
		at := t.(*cc.ArrayType)
		e, err := b.typeOf(at.Elem())
		if err != nil {
			return r, err
		}
		r.Kind = kindArray
		r.Elem = &e
		r.Len = max(at.Len(), 0) // a flexible array member has no length
		r.Size = max(r.Size, 0)
		r.CType = fmt.Sprintf("%s[%d]", e.CType, r.Len)
	case cc.Ptr:
		r.Kind = kindPointer
		if r.CType == "" {
			r.CType = t.String()
		}
	default:
		r.Kind = kindOther
		if r.CType == "" {
			r.CType = t.String()
		}
	}
	return r, nil
}

func (b *builder) enumOf(name string, et *cc.EnumType) *cEnum {
	ut := et.UnderlyingType()
	spell, signed := intCType(ut.Kind(), ut.Size())
	if d := ut.Typedef(); d != nil {
		spell = d.Name()
	}
	e := &cEnum{Name: name, Underlying: spell, Size: et.Size(), Signed: signed}
	for _, en := range et.Enumerators() {
		e.Values = append(e.Values, enumerator{Name: en.Token.SrcStr(), Value: intValue(en.Value())})
	}
	return e
}

func intValue(v cc.Value) int64 {
	switch x := v.(type) {
	case cc.Int64Value:
		return int64(x)
	case cc.UInt64Value:
		return int64(x)
	}
	return 0
}

func (b *builder) constants(consts []constexprDecl) error {
	for _, c := range consts {
		k := constant{Name: c.Name, CType: c.Type, Int: c.Int, File: c.File, Line: c.Line}
		found := false
		for _, n := range b.ast.Scope.Nodes[c.Name] {
			switch x := n.(type) {
			case *cc.Enumerator:
				if c.Int {
					k.Value = intValue(x.Value())
					_, k.Unsigned = x.Value().(cc.UInt64Value)
					found = true
				}
			case *cc.Declarator:
				if !c.Int && x.HasInitializer() {
					if s, ok := b.stringInit(x); ok {
						k.String = s
						found = true
					}
				}
			}
		}
		if found {
			b.m.Constants = append(b.m.Constants, k)
		}
	}
	return nil
}

// macroConstants adds the object-like macros of the header tree whose
// replacement is an integer or string constant expression
// (#define N 64, #define M (UINT64_C(1) << 40), #define F "name"), which
// cc/v4 evaluates as C expressions in file scope (Config.EvalAllMacros).
// Left out: macros of the embedded libc and the predefined ones, function-
// like and empty macros, include guards, reserved names (_X, __x: feature
// test macros and the like) and macros of other values (types,
// attributes, floating point).
func (b *builder) macroConstants(guards map[string]string) {
	for _, name := range sortedKeys(b.ast.Macros) {
		m := b.ast.Macros[name]
		file, ok := inTree(m)
		if !ok || m.IsFnLike || !m.IsConst || len(m.ReplacementList()) == 0 ||
			guards[file] == name || strings.HasPrefix(name, "__") ||
			len(name) > 1 && name[0] == '_' && name[1] >= 'A' && name[1] <= 'Z' {
			continue
		}
		k := constant{Name: name, File: file, Line: m.Position().Line, Macro: true}
		if t := m.Type(); t != nil {
			k.CType = t.String()
			if d := t.Typedef(); d != nil && !strings.HasPrefix(d.Name(), "__") {
				k.CType = d.Name() // not cc/v4's internal __predefined_size_t
			} else if spell, _ := intCType(t.Kind(), t.Size()); spell != "" && d != nil {
				k.CType = spell
			}
		}
		switch v := m.Value().(type) {
		case cc.Int64Value:
			k.Int, k.Value = true, int64(v)
		case cc.UInt64Value:
			k.Int, k.Value, k.Unsigned = true, int64(v), true
		case cc.StringValue:
			k.String = strings.TrimSuffix(string(v), "\x00")
			k.CType = "char[]"
		default:
			continue
		}
		b.m.Constants = append(b.m.Constants, k)
	}
}

// sortConstants puts the constants in declaration order: by the order the
// files were read, then by line.
func (b *builder) sortConstants(order []string) {
	idx := map[string]int{}
	for i, f := range order {
		idx[f] = i
	}
	slices.SortStableFunc(b.m.Constants, func(x, y constant) int {
		if c := idx[x.File] - idx[y.File]; c != 0 {
			return c
		}
		return x.Line - y.Line
	})
}

// expectedConstants names, per content type, constants users rely on; a
// schema lacking one still generates, with a warning, because the Go name
// would otherwise vanish without notice.
var expectedConstants = map[string][]string{
	"EXEC": {"MONAD_EVENT_DEFAULT_EXEC_FILE_NAME"},
}

func (b *builder) expectConstants() {
	for _, want := range expectedConstants[b.m.ContentType] {
		if !slices.ContainsFunc(b.m.Constants, func(c constant) bool { return c.Name == want }) {
			b.m.Warnings = append(b.m.Warnings, fmt.Sprintf("constant %s is not defined (as a constexpr or an object-like #define of a constant) by the headers; its Go constant is not generated", want))
		}
	}
}

// initializerOf returns the initializer of a declarator.
func (b *builder) initializerOf(d *cc.Declarator) *cc.Initializer {
	var r *cc.Initializer
	walkTU(b.ast.TranslationUnit, func(id *cc.InitDeclarator) {
		if id.Declarator == d {
			r = id.Initializer
		}
	})
	return r
}

func (b *builder) stringInit(d *cc.Declarator) (string, bool) {
	in := b.initializerOf(d)
	if in == nil || in.AssignmentExpression == nil {
		return "", false
	}
	if s, ok := in.AssignmentExpression.Value().(cc.StringValue); ok {
		return strings.TrimSuffix(string(s), "\x00"), true
	}
	return "", false
}

// walkTU visits the init-declarators of the translation unit's file-scope
// declarations in order.
func walkTU(tu *cc.TranslationUnit, f func(*cc.InitDeclarator)) {
	for ; tu != nil; tu = tu.TranslationUnit {
		ed := tu.ExternalDeclaration
		if ed == nil || ed.Declaration == nil {
			continue
		}
		for l := ed.Declaration.InitDeclaratorList; l != nil; l = l.InitDeclaratorList {
			if l.InitDeclarator != nil {
				f(l.InitDeclarator)
			}
		}
	}
}

// tagOf returns a tag token's text (SrcStr needs an addressable Token).
func tagOf(t cc.Token) string { return t.SrcStr() }

// memberAlignas records the alignas specifiers of a struct's members.
func (b *builder) memberAlignas(x *cc.StructOrUnionSpecifier) {
	for l := x.StructDeclarationList; l != nil; l = l.StructDeclarationList {
		sd := l.StructDeclaration
		if sd == nil {
			continue
		}
		var align int64
		for q := sd.SpecifierQualifierList; q != nil; q = q.SpecifierQualifierList {
			a := q.AlignmentSpecifier
			switch {
			case a == nil:
			case a.TypeName != nil:
				align = max(align, int64(a.TypeName.Type().Align()))
			case a.ConstantExpression != nil:
				align = max(align, intValue(a.ConstantExpression.Value()))
			}
		}
		if align == 0 {
			continue
		}
		for dl := sd.StructDeclaratorList; dl != nil; dl = dl.StructDeclaratorList {
			if d := dl.StructDeclarator; d != nil && d.Declarator != nil {
				b.alignas[d.Declarator] = align
			}
		}
	}
}

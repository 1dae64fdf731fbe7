package gen

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/dave/jennifer/jen"
)

// The JSON encoders follow the conventions of `monad-events watch --json`
// (README; execevents/jsonrt.go): members in declaration order named by
// jsonName of their Go names, padding and bit-fields left out, integers as
// numbers, bool as true/false, byte strings and byte arrays as 0x-hex
// strings, uint256 as 0x-hex quantities, __uint128_t as a decimal string,
// enums by name, nested structs as objects and other arrays as JSON
// arrays. A typed event's payload object holds the members of its payload
// struct, then its trailing arrays.

// jsonWriter emits the statements of an encoder: literal text is
// collected and appended to dst in one go before the next value.
type jsonWriter struct {
	b   *jen.Group
	lit strings.Builder
}

// text adds literal JSON text.
func (w *jsonWriter) text(s string) { w.lit.WriteString(s) }

// flush appends the pending literal text to dst.
func (w *jsonWriter) flush() {
	if w.lit.Len() == 0 {
		return
	}
	w.b.Id("dst").Op("=").Add(appendLit(w.lit.String()))
	w.lit.Reset()
}

// set emits dst = value, after the pending text.
func (w *jsonWriter) set(value jen.Code) {
	w.flush()
	w.b.Id("dst").Op("=").Add(value)
}

// ret emits the return of dst with the pending text.
func (w *jsonWriter) ret() {
	if w.lit.Len() == 0 {
		w.b.Return(jen.Id("dst"))
		return
	}
	w.b.Return(appendLit(w.lit.String()))
	w.lit.Reset()
}

// appendLit is append(dst, s...), or append(dst, 'c') for one byte.
func appendLit(s string) jen.Code {
	if len(s) == 1 {
		return jen.Append(jen.Id("dst"), jen.LitRune(rune(s[0])))
	}
	if !strings.ContainsAny(s, "`\n") {
		return jen.Append(jen.Id("dst"), jen.Op("`"+s+"`").Op("..."))
	}
	return jen.Append(jen.Id("dst"), jen.Lit(s).Op("..."))
}

// --- zjson.go ---

func (g *emitter) jsonFile() *jen.File {
	f := g.newFile(g.cfg.Package)
	f.Comment("Allocation-free JSON encoders (conventions: jsonrt.go).")
	f.Line()
	for _, name := range g.byteStrings {
		n := g.goName(name)
		f.Comment("AppendJSON appends b to dst as a JSON string of 0x-prefixed hex.")
		f.Func().Params(jen.Id("b").Id(n)).Id("AppendJSON").Params(jen.Id("dst").Index().Byte()).Index().Byte().Block(
			jen.Return(jen.Id("appendHex").Call(jen.Id("dst"), jen.Id("b").Index(jen.Op(":")))),
		)
		f.Line()
	}
	if g.usesU128 {
		f.Comment("AppendJSON appends x to dst as a JSON string in decimal.")
		f.Func().Params(jen.Id("x").Id("Uint128")).Id("AppendJSON").Params(jen.Id("dst").Index().Byte()).Index().Byte().Block(
			jen.Return(jen.Id("appendUint128").Call(jen.Id("dst"), jen.Id("x").Dot("Lo"), jen.Id("x").Dot("Hi"))),
		)
		f.Line()
	}
	for _, name := range g.structs {
		s := g.m.Structs[name]
		if s.Typedef {
			continue // scalar typedefs are rendered as their scalar
		}
		n := g.goName(name)
		f.Comment("AppendJSON appends x to dst as a JSON object and returns the extended")
		f.Comment("buffer; it does not allocate unless dst has to grow.")
		f.Func().Params(jen.Id("x").Op("*").Id(n)).Id("AppendJSON").Params(jen.Id("dst").Index().Byte()).Index().Byte().BlockFunc(func(b *jen.Group) {
			w := &jsonWriter{b: b}
			g.jsonObject(w, s)
			w.ret()
		})
		f.Line()
		f.Comment("MarshalJSON implements json.Marshaler with AppendJSON.")
		f.Func().Params(jen.Id("x").Id(n)).Id("MarshalJSON").Params().Params(jen.Index().Byte(), jen.Error()).Block(
			jen.Return(jen.Id("x").Dot("AppendJSON").Call(jen.Nil()), jen.Nil()),
		)
		f.Line()
	}
	for _, name := range g.ringJSON {
		fn := ringJSONFunc(name)
		f.Commentf("%s appends x to dst as a JSON object (package eventring's", fn)
		f.Comment("type cannot get an AppendJSON method here).")
		f.Func().Id(fn).Params(jen.Id("dst").Index().Byte(), jen.Id("x").Op("*").Qual(ringPkg, ringTypes[name])).Index().Byte().BlockFunc(func(b *jen.Group) {
			w := &jsonWriter{b: b}
			g.jsonObject(w, g.m.Structs[name])
			w.ret()
		})
		f.Line()
	}
	for i := range g.typed {
		g.eventJSON(f, &g.typed[i])
	}
	return f
}

// ringJSONFunc is the name of the JSON function of an eventring struct.
func ringJSONFunc(cname string) string { return "append" + ringTypes[cname] + "JSON" }

// jsonMembers are the members of s that JSON shows.
func (g *emitter) jsonMembers(s *cStruct) []member {
	var r []member
	for _, m := range g.members(s) {
		if m.bits == nil {
			r = append(r, m)
		}
	}
	return r
}

// jsonObject emits appending *x, a struct s, to dst as a JSON object.
func (g *emitter) jsonObject(w *jsonWriter, s *cStruct) {
	ms := g.jsonMembers(s)
	w.text("{")
	for i, m := range ms {
		if i > 0 {
			w.text(",")
		}
		w.text(strconv.Quote(jsonName(m.name)) + ":")
		x := func() *jen.Statement { return jen.Id("x").Dot(m.name) }
		if m.typ == nil {
			w.set(jen.Id("appendHex").Call(jen.Id("dst"), x().Index(jen.Op(":"))))
			continue
		}
		g.jsonValue(w, m.typ, x, 0)
	}
	w.text("}")
}

// isByteElem reports whether arrays of t are byte strings in Go ([N]byte).
func isByteElem(t *cType) bool {
	return t.Kind == kindChar || t.Kind == kindInt && t.Size == 1 && !t.Signed
}

// jsonValue emits appending the JSON of x, an addressable expression of C
// type t, to dst.
func (g *emitter) jsonValue(w *jsonWriter, t *cType, x func() *jen.Statement, depth int) {
	dst := jen.Id("dst")
	switch t.Kind {
	case kindBool:
		w.set(jen.Qual("strconv", "AppendBool").Call(dst, x()))
	case kindChar, kindInt:
		jsonInt(w, t.Kind == kindInt && t.Signed, t.Size, x())
	case kindUint128:
		w.set(x().Dot("AppendJSON").Call(dst))
	case kindEnum:
		w.set(jen.Qual("strconv", "AppendQuote").Call(dst, x().Dot("String").Call()))
	case kindStruct:
		g.jsonNamed(w, t.Name, x, depth)
	case kindArray:
		if isByteElem(t.Elem) {
			w.set(jen.Id("appendHex").Call(dst, x().Index(jen.Op(":"))))
			return
		}
		i := jen.Id(fmt.Sprintf("i%d", depth))
		w.text("[")
		w.flush()
		w.b.For(jen.Add(i).Op(":=").Range().Add(x())).BlockFunc(func(l *jen.Group) {
			lw := &jsonWriter{b: l}
			l.If(jen.Add(i).Op(">").Lit(0)).Block(jen.Id("dst").Op("=").Add(appendLit(",")))
			g.jsonValue(lw, t.Elem, func() *jen.Statement { return x().Index(i) }, depth+1)
			lw.flush()
		})
		w.text("]")
	default:
		// Unions, floating point: kept as raw bytes.
		w.set(jen.Id("appendHex").Call(dst, x().Index(jen.Op(":"))))
	}
}

// jsonInt emits appending an integer x as a JSON number.
func jsonInt(w *jsonWriter, signed bool, size int64, x jen.Code) {
	if signed {
		if size != 8 {
			x = jen.Int64().Call(x)
		}
		w.set(jen.Qual("strconv", "AppendInt").Call(jen.Id("dst"), x, jen.Lit(10)))
		return
	}
	if size != 8 {
		x = jen.Uint64().Call(x)
	}
	w.set(jen.Qual("strconv", "AppendUint").Call(jen.Id("dst"), x, jen.Lit(10)))
}

// jsonNamed emits appending x, of the named C type cname, to dst.
func (g *emitter) jsonNamed(w *jsonWriter, cname string, x func() *jen.Statement, depth int) {
	cname = g.target(cname)
	dst := jen.Id("dst")
	s := g.m.Structs[cname]
	switch {
	case special(cname) != nil:
		w.set(jen.Id("appendUint256").Call(dst, jen.Op("&").Add(x())))
	case ringTypes[cname] != "":
		w.set(jen.Id(ringJSONFunc(cname)).Call(dst, jen.Op("&").Add(x())))
	case s == nil:
		w.set(jen.Id("appendHex").Call(dst, x().Index(jen.Op(":"))))
	case s.Typedef && s.Scalar != nil:
		// A defined type has none of its underlying type's methods:
		// convert where the rendering needs them.
		sc := s.Scalar
		switch sc.Kind {
		case kindEnum:
			if g.goName(sc.Name) == g.goName(cname) {
				w.set(jen.Qual("strconv", "AppendQuote").Call(dst, x().Dot("String").Call()))
				return
			}
			e := g.m.Enums[sc.Name]
			jsonInt(w, e.Signed, 8, conv(e.Signed, x()))
		case kindBool:
			w.set(jen.Qual("strconv", "AppendBool").Call(dst, jen.Bool().Call(x())))
		case kindUint128:
			w.set(jen.Id("Uint128").Call(x()).Dot("AppendJSON").Call(dst))
		case kindStruct:
			g.jsonNamed(w, sc.Name, x, depth)
		default:
			g.jsonValue(w, sc, x, depth)
		}
	default: // a byte string or a generated struct
		w.set(x().Dot("AppendJSON").Call(dst))
	}
}

// conv converts x to int64 or uint64.
func conv(signed bool, x jen.Code) jen.Code {
	if signed {
		return jen.Int64().Call(x)
	}
	return jen.Uint64().Call(x)
}

// eventJSON emits the JSON methods of a typed event.
func (g *emitter) eventJSON(f *jen.File, te *typedEvent) {
	recv := func() *jen.Statement { return f.Func().Params(jen.Id("e").Op("*").Id(te.typ)) }
	f.Comment("AppendPayloadJSON appends the event's payload to dst as a JSON object")
	switch {
	case te.kind == payloadEmpty:
		f.Comment("(nothing: the event has no payload).")
	case te.kind == payloadScalar:
		f.Commentf("holding %s.", jsonName(scalarField))
	case len(te.arrays) > 0:
		f.Comment("(the fields of the payload struct, then the trailing arrays).")
	default:
		f.Comment("(the fields of the payload struct; nothing for an event without it).")
	}
	recv().Id("AppendPayloadJSON").Params(jen.Id("dst").Index().Byte()).Index().Byte().BlockFunc(func(b *jen.Group) {
		g.payloadJSON(b, te)
	})
	f.Line()
	f.Comment("AppendJSON appends the whole event to dst as a JSON object (see Event).")
	recv().Id("AppendJSON").Params(jen.Id("dst").Index().Byte()).Index().Byte().Block(
		jen.Return(jen.Id("appendEventJSON").Call(jen.Id("dst"), jen.Id("e"))),
	)
	f.Line()
	f.Comment("MarshalJSON implements json.Marshaler with AppendJSON.")
	recv().Id("MarshalJSON").Params().Params(jen.Index().Byte(), jen.Error()).Block(
		jen.Return(jen.Id("e").Dot("AppendJSON").Call(jen.Nil()), jen.Nil()),
	)
	f.Line()
}

// payloadJSON emits the body of AppendPayloadJSON.
func (g *emitter) payloadJSON(b *jen.Group, te *typedEvent) {
	w := &jsonWriter{b: b}
	switch te.kind {
	case payloadEmpty:
		w.ret()
		return
	case payloadScalar:
		w.text("{" + strconv.Quote(jsonName(scalarField)) + ":")
		g.jsonNamed(w, te.payload, func() *jen.Statement { return jen.Id("e").Dot(scalarField) }, 0)
		w.text("}")
		w.ret()
		return
	}
	p := func() *jen.Statement { return jen.Id("e").Dot(te.embed) }
	s := g.m.Structs[te.payload]
	// How the payload struct shows: as an object whose members are
	// flattened into the payload object (a generated or eventring
	// struct), or, for a byte string or a uint256, as one member named
	// after the embedded field.
	var object func() jen.Code    // the expression appending the object
	var value func(w *jsonWriter) // appends the value of the one member
	switch {
	case special(te.payload) != nil:
		value = func(w *jsonWriter) { w.set(jen.Id("appendUint256").Call(jen.Id("dst"), p())) }
	case isByteString(s):
		value = func(w *jsonWriter) { w.set(p().Dot("AppendJSON").Call(jen.Id("dst"))) }
	case len(g.jsonMembers(s)) == 0:
		// No member shows: like an event without payload fields.
	case ringTypes[te.payload] != "":
		object = func() jen.Code { return jen.Id(ringJSONFunc(te.payload)).Call(jen.Id("dst"), p()) }
	default:
		object = func() jen.Code { return p().Dot("AppendJSON").Call(jen.Id("dst")) }
	}
	member := "{" + strconv.Quote(jsonName(te.embed)) + ":"
	if len(te.arrays) == 0 {
		switch {
		case object != nil:
			b.If(p().Op("==").Nil()).Block(jen.Return(jen.Id("dst")))
			b.Return(object())
		case value != nil:
			b.If(p().Op("==").Nil()).Block(jen.Return(jen.Id("dst")))
			w.text(member)
			value(w)
			w.text("}")
			w.ret()
		default:
			w.ret()
		}
		return
	}
	switch {
	case object != nil:
		b.If(p().Op("!=").Nil()).BlockFunc(func(b *jen.Group) {
			b.Id("dst").Op("=").Add(object())
			b.Id("dst").Index(jen.Len(jen.Id("dst")).Op("-").Lit(1)).Op("=").LitRune(',') // the object's closing brace
		}).Else().Block(jen.Id("dst").Op("=").Add(appendLit("{")))
	case value != nil:
		b.If(p().Op("!=").Nil()).BlockFunc(func(b *jen.Group) {
			vw := &jsonWriter{b: b}
			vw.text(member)
			value(vw)
			vw.text(",")
			vw.flush()
		}).Else().Block(jen.Id("dst").Op("=").Add(appendLit("{")))
	default:
		w.text("{")
	}
	for i, a := range te.arrays {
		if i > 0 {
			w.text(",")
		}
		w.text(strconv.Quote(jsonName(a.field)) + ":")
		x := func() *jen.Statement { return jen.Id("e").Dot(a.field) }
		if a.ElemSize == 1 {
			w.set(jen.Id("appendHex").Call(jen.Id("dst"), x()))
			continue
		}
		w.text("[")
		w.flush()
		b.For(jen.Id("i").Op(":=").Range().Add(x())).BlockFunc(func(l *jen.Group) {
			l.If(jen.Id("i").Op(">").Lit(0)).Block(jen.Id("dst").Op("=").Add(appendLit(",")))
			if g.bytes32Name() != "" {
				l.Id("dst").Op("=").Add(x()).Index(jen.Id("i")).Dot("AppendJSON").Call(jen.Id("dst"))
			} else {
				l.Id("dst").Op("=").Id("appendHex").Call(jen.Id("dst"), x().Index(jen.Id("i")).Index(jen.Op(":")))
			}
		})
		w.text("]")
	}
	w.text("}")
	w.ret()
}

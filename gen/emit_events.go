package gen

import (
	"fmt"
	"strings"

	"github.com/dave/jennifer/jen"
)

// eventConst is the Go constant of an event.
func (g *emitter) eventConst(ev *Event) string {
	e := g.m.Enums[g.m.EventEnum]
	return GoEnumConst(g.goName(e.Name), enumPrefix(e.Values), ev.CEnum)
}

func (g *emitter) eventType() string { return g.goName(g.m.EventEnum) }

// --- zevents.go ---

func (g *emitter) events() *jen.File {
	f := g.newFile(g.cfg.Package)
	et := g.eventType()
	f.Comment("EventInfo describes one event type of the schema.")
	f.Type().Id("EventInfo").Struct(
		jen.Id("Type").Id(et).Comment("event code"),
		jen.Id("Name").String().Comment("C name without prefix, e.g. \"BLOCK_START\""),
		jen.Id("Description").String().Comment("one-line description from the schema metadata"),
		jen.Id("PayloadCType").String().Comment("C payload type; \"\" for an empty payload"),
		jen.Id("Size").Int().Comment("fixed payload size in bytes; 0 for an empty payload"),
		jen.Comment("Trailing lists the variable-length arrays that follow the fixed"),
		jen.Comment("payload, in order (spec §8)."),
		jen.Id("Trailing").Index().Id("TrailingArray"),
		jen.Comment("Sizes, when set, are the only valid payload sizes (RECORD_ERROR)."),
		jen.Id("Sizes").Index().Int(),
	)
	f.Line()
	f.Comment("TrailingArray describes one variable-length array of a payload.")
	f.Type().Id("TrailingArray").Struct(
		jen.Id("Name").String().Comment("e.g. \"blob_versioned_hashes\""),
		jen.Id("LengthField").String().Comment("dotted path of the count member; \"\" if it takes the rest"),
		jen.Id("ElemSize").Int().Comment("bytes per element"),
	)
	f.Line()
	f.Commentf("EventTypeCount is the number of event codes (%s).", g.m.EventEnum)
	f.Const().Id("EventTypeCount").Op("=").Lit(len(g.m.Events))
	f.Line()
	f.Comment("Events describes every event type, indexed by code.")
	f.Var().Id("Events").Op("=").Index(jen.Id("EventTypeCount")).Id("EventInfo").ValuesFunc(func(v *jen.Group) {
		for i := range g.m.Events {
			ev := &g.m.Events[i]
			kv := func(k string, v jen.Code) jen.Code { return jen.Id(k).Op(":").Add(v) }
			d := []jen.Code{
				kv("Type", jen.Id(g.eventConst(ev))),
				kv("Name", jen.Lit(ev.Name)),
				kv("Description", jen.Lit(ev.Description)),
			}
			if ev.Payload != "" {
				d = append(d, kv("PayloadCType", jen.Lit(ev.Payload)), kv("Size", jen.Lit(int(ev.Size))))
			}
			if len(ev.Trailing) > 0 {
				var arrays []jen.Code
				for _, a := range ev.Trailing {
					arrays = append(arrays, jen.Custom(jen.Options{Open: "{", Close: "}", Separator: ","},
						kv("Name", jen.Lit(a.Name)), kv("LengthField", jen.Lit(a.LengthField)), kv("ElemSize", jen.Lit(int(a.ElemSize)))))
				}
				d = append(d, kv("Trailing", jen.Index().Id("TrailingArray").Custom(jen.Options{Open: "{", Close: "}", Separator: ",", Multi: true}, arrays...)))
			}
			if len(ev.SizeRule) > 0 {
				d = append(d, kv("Sizes", jen.Index().Int().ValuesFunc(func(t *jen.Group) {
					for _, s := range ev.SizeRule {
						t.Lit(int(s))
					}
				})))
			}
			v.Line().Id(g.eventConst(ev)).Op(":").Custom(jen.Options{Open: "{", Close: "}", Separator: ",", Multi: true}, d...)
		}
		v.Line()
	})
	f.Line()
	return f
}

// --- zdecode.go ---

// bytes32Type is the Go type of 32-byte trailing elements.
func (g *emitter) bytes32Type() jen.Code {
	for _, n := range g.byteStrings {
		if g.m.Structs[n].Size == 32 {
			return jen.Id(g.goName(n))
		}
	}
	return jen.Index(jen.Lit(32)).Byte()
}

func (g *emitter) decoders() *jen.File {
	f := g.newFile(g.cfg.Package)
	et := g.eventType()
	g.decodeErrors(f, et)

	for i := range g.m.Events {
		ev := &g.m.Events[i]
		if ev.Payload == "" {
			continue
		}
		g.decoder(f, ev)
	}

	// The dispatcher.
	f.Comment("DecodePayload decodes the payload p of an event of type t: it returns what")
	f.Comment("the type's DecodeX function returns (a pointer into p or an XView), or nil")
	f.Comment("for an event type whose payload is empty. Errors are *PayloadError.")
	f.Func().Id("DecodePayload").Params(jen.Id("t").Id(et), jen.Id("p").Index().Byte()).Params(jen.Any(), jen.Error()).Block(
		jen.Switch(jen.Id("t")).BlockFunc(func(s *jen.Group) {
			var empty []jen.Code
			for i := range g.m.Events {
				ev := &g.m.Events[i]
				if ev.Value == 0 {
					continue // NONE is never recorded
				}
				if ev.Payload == "" {
					empty = append(empty, jen.Id(g.eventConst(ev)))
					continue
				}
				s.Case(jen.Id(g.eventConst(ev))).Block(
					jen.List(jen.Id("x"), jen.Err()).Op(":=").Id("Decode"+g.goName(ev.Payload)).Call(jen.Id("p")),
					jen.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Nil(), jen.Err())),
					jen.Return(jen.Id("x"), jen.Nil()),
				)
			}
			if len(empty) > 0 {
				s.Case(empty...).Block(
					jen.If(jen.Len(jen.Id("p")).Op("!=").Lit(0)).Block(
						jen.Return(jen.Nil(), jen.Id("payloadError").Call(jen.Id("t"), jen.Lit(0), jen.Len(jen.Id("p")), jen.Id("ErrPayloadLong"), jen.Lit("the event has no payload"))),
					),
					jen.Return(jen.Nil(), jen.Nil()),
				)
			}
		}),
		jen.Return(jen.Nil(), jen.Id("payloadError").Call(jen.Id("t"), jen.Lit(0), jen.Len(jen.Id("p")), jen.Id("ErrUnknownEventType"), jen.Lit("not an event type of this schema"))),
	)
	f.Line()
	return f
}

func (g *emitter) decodeErrors(f *jen.File, et string) {
	f.Comment("Payload decoding errors; a *PayloadError matches ErrBadPayload and exactly")
	f.Comment("one of the others with errors.Is.")
	f.Var().Defs(
		jen.Comment("ErrBadPayload matches every payload decoding error."),
		jen.Id("ErrBadPayload").Op("=").Qual("errors", "New").Call(jen.Lit("execevents: malformed payload")),
		jen.Comment("ErrPayloadShort: the payload is shorter than its fixed struct, or than"),
		jen.Comment("the trailing arrays its counts declare."),
		jen.Id("ErrPayloadShort").Op("=").Qual("errors", "New").Call(jen.Lit("execevents: payload too short")),
		jen.Comment("ErrPayloadLong: the payload has bytes beyond what its type and counts"),
		jen.Comment("account for."),
		jen.Id("ErrPayloadLong").Op("=").Qual("errors", "New").Call(jen.Lit("execevents: payload too long")),
		jen.Comment("ErrPayloadMisaligned: the payload's address is not aligned for its Go"),
		jen.Comment("struct, so it cannot be viewed in place (copy it to an aligned buffer;"),
		jen.Comment("ring payloads are always aligned)."),
		jen.Id("ErrPayloadMisaligned").Op("=").Qual("errors", "New").Call(jen.Lit("execevents: payload misaligned")),
		jen.Comment("ErrUnknownEventType: the event code is not one of this schema's."),
		jen.Id("ErrUnknownEventType").Op("=").Qual("errors", "New").Call(jen.Lit("execevents: unknown event type")),
	)
	f.Line()
	f.Comment("PayloadError reports a payload that does not fit its event type.")
	f.Type().Id("PayloadError").Struct(
		jen.Id("EventType").Id(et).Comment("type of the event whose payload was decoded"),
		jen.Id("Want").Uint64().Comment("size the payload should have (as far as it could be computed)"),
		jen.Id("Got").Uint64().Comment("actual payload size"),
		jen.Id("Reason").String().Comment("what is wrong, in words"),
		jen.Id("Err").Error().Comment("ErrPayloadShort, ErrPayloadLong, ErrPayloadMisaligned or ErrUnknownEventType"),
	)
	f.Line()
	f.Comment("Error describes the problem with the event type and sizes.")
	f.Func().Params(jen.Id("e").Op("*").Id("PayloadError")).Id("Error").Params().String().Block(
		jen.Return(jen.Qual("fmt", "Sprintf").Call(jen.Lit("execevents: %v payload of %d bytes (want %d): %s"),
			jen.Id("e").Dot("EventType"), jen.Id("e").Dot("Got"), jen.Id("e").Dot("Want"), jen.Id("e").Dot("Reason"))),
	)
	f.Line()
	f.Comment("Unwrap returns the specific sentinel error.")
	f.Func().Params(jen.Id("e").Op("*").Id("PayloadError")).Id("Unwrap").Params().Error().Block(jen.Return(jen.Id("e").Dot("Err")))
	f.Line()
	f.Comment("Is reports whether target is ErrBadPayload.")
	f.Func().Params(jen.Id("e").Op("*").Id("PayloadError")).Id("Is").Params(jen.Id("target").Error()).Bool().Block(jen.Return(jen.Id("target").Op("==").Id("ErrBadPayload")))
	f.Line()
	f.Func().Id("payloadError").Params(jen.Id("t").Id(et), jen.Id("want").Uint64(), jen.Id("got").Int(), jen.Id("err").Error(), jen.Id("reason").String()).Op("*").Id("PayloadError").Block(
		jen.Return(jen.Op("&").Id("PayloadError").Custom(jen.Options{Open: "{", Close: "}", Separator: ",", Multi: true},
			jen.Id("EventType").Op(":").Id("t"),
			jen.Id("Want").Op(":").Id("want"),
			jen.Id("Got").Op(":").Uint64().Call(jen.Id("got")),
			jen.Id("Reason").Op(":").Id("reason"),
			jen.Id("Err").Op(":").Id("err"),
		)),
	)
	f.Line()
	f.Comment("view returns p as a *T after checking that p holds at least size bytes")
	f.Comment("(exactly size when exact) and is aligned for T: Go, and checkptr under")
	f.Comment("-race, require the latter for a pointer conversion.")
	f.Func().Id("view").Types(jen.Id("T").Any()).Params(jen.Id("t").Id(et), jen.Id("p").Index().Byte(), jen.Id("size").Int(), jen.Id("exact").Bool()).Params(jen.Op("*").Id("T"), jen.Error()).Block(
		jen.Switch().Block(
			jen.Case(jen.Len(jen.Id("p")).Op("<").Id("size")).Block(
				jen.Return(jen.Nil(), jen.Id("payloadError").Call(jen.Id("t"), jen.Uint64().Call(jen.Id("size")), jen.Len(jen.Id("p")), jen.Id("ErrPayloadShort"), jen.Lit("shorter than the fixed payload struct"))),
			),
			jen.Case(jen.Id("exact").Op("&&").Len(jen.Id("p")).Op(">").Id("size")).Block(
				jen.Return(jen.Nil(), jen.Id("payloadError").Call(jen.Id("t"), jen.Uint64().Call(jen.Id("size")), jen.Len(jen.Id("p")), jen.Id("ErrPayloadLong"), jen.Lit("longer than the fixed payload struct"))),
			),
		),
		jen.Id("ptr").Op(":=").Qual("unsafe", "Pointer").Call(jen.Qual("unsafe", "SliceData").Call(jen.Id("p"))),
		jen.If(jen.Id("a").Op(":=").Qual("unsafe", "Alignof").Call(jen.Op("*").New(jen.Id("T"))), jen.Uintptr().Call(jen.Id("ptr")).Op("%").Id("a").Op("!=").Lit(0)).Block(
			jen.Return(jen.Nil(), jen.Id("payloadError").Call(jen.Id("t"), jen.Uint64().Call(jen.Id("size")), jen.Len(jen.Id("p")), jen.Id("ErrPayloadMisaligned"),
				jen.Qual("fmt", "Sprintf").Call(jen.Lit("address %#x is not %d-byte aligned"), jen.Id("ptr"), jen.Id("a")))),
		),
		jen.Return(jen.Parens(jen.Op("*").Id("T")).Call(jen.Id("ptr")), jen.Nil()),
	)
	f.Line()
	f.Comment("trailing cuts the next count*elem bytes off rest, failing when they are")
	f.Comment("not there; the arithmetic cannot overflow.")
	f.Func().Id("trailing").Params(jen.Id("t").Id(et), jen.Id("p").Op(",").Id("rest").Index().Byte(), jen.Id("count").Uint64(), jen.Id("elem").Uint64(), jen.Id("name").String()).Params(jen.Index().Byte(), jen.Index().Byte(), jen.Error()).Block(
		jen.If(jen.Id("count").Op(">").Uint64().Call(jen.Len(jen.Id("rest"))).Op("/").Id("elem")).Block(
			jen.Id("want").Op(":=").Uint64().Call(jen.Len(jen.Id("p")).Op("-").Len(jen.Id("rest"))),
			jen.If(jen.Id("count").Op("<=").Qual("math", "MaxUint64").Op("/").Id("elem").Op("-").Id("want")).Block(
				jen.Id("want").Op("+=").Id("count").Op("*").Id("elem"),
			).Else().Block(
				jen.Id("want").Op("=").Qual("math", "MaxUint64"),
			),
			jen.Return(jen.Nil(), jen.Nil(), jen.Id("payloadError").Call(jen.Id("t"), jen.Id("want"), jen.Len(jen.Id("p")), jen.Id("ErrPayloadShort"),
				jen.Qual("fmt", "Sprintf").Call(jen.Lit("%s declares %d elements of %d bytes, only %d bytes remain"), jen.Id("name"), jen.Id("count"), jen.Id("elem"), jen.Len(jen.Id("rest"))))),
		),
		jen.Id("n").Op(":=").Id("count").Op("*").Id("elem"),
		jen.Return(jen.Id("rest").Index(jen.Op(":").Id("n").Op(":").Id("n")), jen.Id("rest").Index(jen.Id("n").Op(":")), jen.Nil()),
	)
	f.Line()
	b32 := g.bytes32Type()
	f.Comment("bytes32s views b, a multiple of 32 bytes long, as 32-byte elements.")
	f.Func().Id("bytes32s").Params(jen.Id("b").Index().Byte()).Index().Add(b32).Block(
		jen.If(jen.Len(jen.Id("b")).Op("==").Lit(0)).Block(jen.Return(jen.Nil())),
		jen.Return(jen.Qual("unsafe", "Slice").Call(jen.Parens(jen.Op("*").Add(b32)).Call(jen.Qual("unsafe", "Pointer").Call(jen.Qual("unsafe", "SliceData").Call(jen.Id("b")))), jen.Len(jen.Id("b")).Op("/").Lit(32))),
	)
	f.Line()
	f.Comment("longError reports bytes left over after the trailing arrays.")
	f.Func().Id("longError").Params(jen.Id("t").Id(et), jen.Id("p").Op(",").Id("rest").Index().Byte()).Error().Block(
		jen.Return(jen.Id("payloadError").Call(jen.Id("t"), jen.Uint64().Call(jen.Len(jen.Id("p")).Op("-").Len(jen.Id("rest"))), jen.Len(jen.Id("p")), jen.Id("ErrPayloadLong"),
			jen.Qual("fmt", "Sprintf").Call(jen.Lit("%d bytes after the trailing arrays"), jen.Len(jen.Id("rest"))))),
	)
	f.Line()
}

// goFieldPath turns a dotted C member path into a Go selector path.
func goFieldPath(path string) []string {
	var r []string
	for _, p := range strings.Split(path, ".") {
		r = append(r, GoFieldName(p))
	}
	return r
}

func (g *emitter) decoder(f *jen.File, ev *Event) {
	tn := g.goName(ev.Payload)
	fn := "Decode" + tn
	c := jen.Id(g.eventConst(ev))
	size := int(ev.Size)
	if len(ev.Trailing) == 0 {
		doc(f, fmt.Sprintf("%s decodes %s payload: exactly %d bytes, viewed in place (the result points into p). Errors are *PayloadError.", fn, article(ev.Name), size))
		f.Func().Id(fn).Params(jen.Id("p").Index().Byte()).Params(jen.Op("*").Id(tn), jen.Error()).Block(
			jen.Return(jen.Id("view").Types(jen.Id(tn)).Call(c, jen.Id("p"), jen.Lit(size), jen.True())),
		)
		f.Line()
		return
	}
	vn := tn + "View"
	doc(f, fmt.Sprintf("%s is %s payload: the fixed struct and the trailing arrays that follow it, all pointing into the payload.", vn, article(ev.Name)))
	f.Type().Id(vn).StructFunc(func(s *jen.Group) {
		s.Op("*").Id(tn)
		for _, a := range ev.Trailing {
			t := jen.Index().Byte()
			if a.ElemSize == 32 {
				t = jen.Index().Add(g.bytes32Type())
			}
			cm := a.LengthField
			if a.Remainder {
				cm = "the rest of the payload"
			}
			s.Id(GoFieldName(a.Name)).Add(t).Comment(cm)
		}
	})
	f.Line()
	var rule string
	if len(ev.SizeRule) > 0 {
		rule = fmt.Sprintf("the payload must be %s bytes long", strings.Join(sizeStrings(ev.SizeRule), " or "))
	} else {
		rule = fmt.Sprintf("the payload must be exactly the %d-byte struct plus the arrays its counts declare", size)
	}
	doc(f, fmt.Sprintf("%s decodes %s payload without copying: %s. Errors are *PayloadError.", fn, article(ev.Name), rule))
	f.Func().Id(fn).Params(jen.Id("p").Index().Byte()).Params(jen.Id(vn), jen.Error()).BlockFunc(func(b *jen.Group) {
		b.Var().Id("v").Id(vn)
		if len(ev.SizeRule) > 0 {
			cond := jen.Null()
			for i, s := range ev.SizeRule {
				if i > 0 {
					cond.Op("&&")
				}
				cond.Len(jen.Id("p")).Op("!=").Lit(int(s))
			}
			errKind := "ErrPayloadLong"
			b.If(cond).Block(
				jen.Id("err").Op(":=").Id("ErrPayloadShort"),
				jen.If(jen.Len(jen.Id("p")).Op(">").Lit(size)).Block(jen.Id("err").Op("=").Id(errKind)),
				jen.Return(jen.Id(vn).Values(), jen.Id("payloadError").Call(c, jen.Lit(int(ev.SizeRule[0])), jen.Len(jen.Id("p")), jen.Id("err"), jen.Lit("valid sizes are "+strings.Join(sizeStrings(ev.SizeRule), " or ")))),
			)
		}
		b.List(jen.Id("x"), jen.Err()).Op(":=").Id("view").Types(jen.Id(tn)).Call(c, jen.Id("p"), jen.Lit(size), jen.False())
		b.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Id(vn).Values(), jen.Err()))
		b.Id("rest").Op(":=").Id("p").Index(jen.Lit(size).Op(":"))
		for _, a := range ev.Trailing {
			if a.ElemSize == 32 {
				b.Var().Id("raw").Index().Byte()
				break
			}
		}
		for _, a := range ev.Trailing {
			field := jen.Id("v").Dot(GoFieldName(a.Name))
			if a.Remainder {
				b.Add(field).Op("=").Id("rest")
				continue
			}
			count := jen.Id("x")
			for _, p := range goFieldPath(a.LengthField) {
				count = count.Dot(p)
			}
			target := field.Clone()
			if a.ElemSize == 32 {
				target = jen.Id("raw")
			}
			b.List(target, jen.Id("rest"), jen.Err()).Op("=").Id("trailing").Call(c, jen.Id("p"), jen.Id("rest"), jen.Uint64().Call(count), jen.Lit(int(a.ElemSize)), jen.Lit(a.LengthField))
			b.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Id(vn).Values(), jen.Err()))
			if a.ElemSize == 32 {
				b.Add(field).Op("=").Id("bytes32s").Call(jen.Id("raw"))
			}
		}
		if !ev.Trailing[len(ev.Trailing)-1].Remainder {
			b.If(jen.Len(jen.Id("rest")).Op("!=").Lit(0)).Block(jen.Return(jen.Id(vn).Values(), jen.Id("longError").Call(c, jen.Id("p"), jen.Id("rest"))))
		}
		b.Id("v").Dot(tn).Op("=").Id("x")
		b.Return(jen.Id("v"), jen.Nil())
	})
	f.Line()
}

func sizeStrings(sizes []int64) []string {
	var r []string
	for _, s := range sizes {
		r = append(r, fmt.Sprint(s))
	}
	return r
}

// article prefixes an event name with "a" or "an".
func article(name string) string {
	if strings.ContainsRune("AEIOU", rune(name[0])) {
		return "an " + name
	}
	return "a " + name
}

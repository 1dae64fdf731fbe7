package gen

import (
	"fmt"
	"strings"

	"github.com/dave/jennifer/jen"
)

// runtimeNames are the exported identifiers of the hand-written runtime
// that completes the generated package (execevents' files other than
// z*.go): generated names must not take them. TestRuntimeNames keeps the
// list in step with execevents.
var runtimeNames = []string{
	"CheckEvent", "CheckRing", "ErrBadPayload", "ErrPayloadLong", "ErrPayloadMisaligned", "ErrPayloadShort",
	"Event", "EventMeta", "Flow", "FlowOf", "Open", "PayloadError", "ReadEvent", "UnknownEvent",
}

// eventMethods are the methods every typed event has (the Event interface
// of the runtime, and the unexported ones it seals it with).
var eventMethods = []string{"AppendJSON", "AppendPayloadJSON", "Clone", "MarshalJSON", "Meta", "PayloadSize", "Type", "missingPayload", "view"}

// payloadKind says how a typed event holds its payload.
type payloadKind int

const (
	payloadEmpty  payloadKind = iota // no payload
	payloadScalar                    // a typedef of a scalar, copied into field Code
	payloadStruct                    // a struct, an embedded pointer into the payload
)

// scalarField is the field of an event whose payload is a single scalar
// (a typedef of an integer, such as a reject code).
const scalarField = "Code"

// typedEvent is the plan of one event kind's Go type.
type typedEvent struct {
	ev    *eventDef
	typ   string // Go type, "BlockStartEvent"
	field string // the Decoder's field holding one
	konst string // event code constant, "EventTypeBlockStart"
	kind  payloadKind
	// payload is the C name of the payload type after typedefs of structs
	// are followed; embed the name of the embedded pointer field.
	payload string
	embed   string
	arrays  []typedArray
}

// typedArray is one trailing array field of a typed event.
type typedArray struct {
	trailingArray
	field string
}

// planEvents works out the typed events and checks that their names
// collide with nothing.
func (g *emitter) planEvents() error {
	taken := g.typeNames()
	et := g.eventType()
	for i := range g.m.Events {
		ev := &g.m.Events[i]
		if ev.Value == 0 {
			continue // NONE is never recorded: code 0 decodes as an UnknownEvent
		}
		konst := g.eventConst(ev)
		name := strings.TrimPrefix(konst, et)
		te := typedEvent{ev: ev, typ: name + "Event", field: jsonName(name) + "Event", konst: konst}
		if what, ok := taken[te.typ]; ok {
			return fmt.Errorf("event %s: its Go type %s is already %s", ev.Name, te.typ, what)
		}
		taken[te.typ] = "the typed event of " + ev.Name
		members := map[string]string{"EventMeta": "the embedded EventMeta"}
		for _, m := range eventMethods {
			members[m] = "a method of every event"
		}
		add := func(n, what string) error {
			if other, ok := members[n]; ok {
				return fmt.Errorf("event %s: %s would be named %s, like %s", ev.Name, what, n, other)
			}
			members[n] = what
			return nil
		}
		if ev.Payload != "" {
			s := g.m.Structs[ev.Payload]
			switch {
			case s.Typedef && s.Scalar != nil:
				te.kind, te.payload, te.embed = payloadScalar, ev.Payload, scalarField
			default:
				te.kind, te.payload = payloadStruct, g.target(ev.Payload)
				te.embed = g.embedName(te.payload)
			}
			if err := add(te.embed, "the payload field"); err != nil {
				return err
			}
		}
		for _, a := range ev.Trailing {
			ta := typedArray{trailingArray: a, field: goFieldName(a.Name)}
			if err := add(ta.field, "trailing array "+a.Name); err != nil {
				return err
			}
			te.arrays = append(te.arrays, ta)
		}
		g.typed = append(g.typed, te)
	}
	return nil
}

// embedName is the name of an embedded field of the Go type of C type
// cname (a struct).
func (g *emitter) embedName(cname string) string {
	if r, ok := ringTypes[cname]; ok {
		return r
	}
	if special(cname) != nil {
		return "Int" // uint256.Int
	}
	return g.goName(cname)
}

// typeNames are the Go names of the package's types, generated and
// hand-written, with what they are.
func (g *emitter) typeNames() map[string]string {
	taken := map[string]string{}
	for _, names := range [][]string{g.structs, g.byteStrings, g.enums} {
		for _, n := range names {
			taken[g.goName(n)] = "the Go type of " + n
		}
	}
	for _, n := range runtimeNames {
		taken[n] = "an identifier of the hand-written runtime"
	}
	taken["Decoder"] = "a generated identifier"
	for _, te := range g.typed {
		taken[te.typ] = "the typed event of " + te.ev.Name
	}
	return taken
}

// payloadType is the Go type of a typed event's payload value.
func (g *emitter) payloadType(te *typedEvent) jen.Code {
	if te.kind == payloadScalar {
		return jen.Id(g.goName(te.payload))
	}
	return g.named(te.payload)
}

// arrayType is the Go type of a trailing array field.
func (g *emitter) arrayType(a trailingArray) jen.Code {
	if a.ElemSize == 32 {
		return jen.Index().Add(g.bytes32Type())
	}
	return jen.Index().Byte()
}

// --- ztyped.go ---

func (g *emitter) typedEvents() *jen.File {
	f := g.newFile(g.cfg.Package)
	f.Comment("The typed events, one Go type per event kind (the Event interface and")
	f.Comment("UnknownEvent are in event.go).")
	f.Line()
	for i := range g.typed {
		g.typedEvent(f, &g.typed[i])
	}
	return f
}

func (g *emitter) typedEvent(f *jen.File, te *typedEvent) {
	ev := te.ev
	var what string
	switch te.kind {
	case payloadEmpty:
		what = "It has no payload."
	case payloadScalar:
		what = fmt.Sprintf("Its payload, %s, is copied into %s.", article(g.goName(te.payload)), scalarField)
	case payloadStruct:
		name := g.embedName(te.payload)
		if _, ok := ringTypes[te.payload]; ok {
			name = "eventring." + name
		}
		what = fmt.Sprintf("Its payload is %s (embedded, its fields are promoted)", article(name))
		if len(te.arrays) > 0 {
			var names []string
			for _, a := range te.arrays {
				names = append(names, a.field)
			}
			what += " followed by " + strings.Join(names, " and ")
		}
		what += "."
	}
	desc := strings.TrimSuffix(ev.Description, ".")
	if desc != "" {
		desc = ": " + desc
	}
	doc(f, fmt.Sprintf("%s is %s event (code %d)%s. %s", te.typ, article(ev.Name), ev.Value, desc, what))
	e := jen.Id("e")
	f.Type().Id(te.typ).StructFunc(func(s *jen.Group) {
		s.Id("EventMeta")
		switch te.kind {
		case payloadScalar:
			s.Id(scalarField).Add(g.payloadType(te)).Commentf("the %s payload", ev.Payload)
		case payloadStruct:
			s.Op("*").Add(g.payloadType(te))
		}
		for _, a := range te.arrays {
			cm := "count in " + a.LengthField
			if a.Remainder {
				cm = "the rest of the payload"
			}
			s.Id(a.field).Add(g.arrayType(a.trailingArray)).Comment(cm)
		}
	})
	f.Line()
	recv := func() *jen.Statement { return f.Func().Params(jen.Id("e").Op("*").Id(te.typ)) }

	f.Comment("Meta returns the descriptor facts and flow tags.")
	recv().Id("Meta").Params().Op("*").Id("EventMeta").Block(jen.Return(jen.Op("&").Add(e).Dot("EventMeta")))
	f.Line()
	f.Commentf("Type returns %s.", te.konst)
	recv().Id("Type").Params().Id(g.eventType()).Block(jen.Return(jen.Id(te.konst)))
	f.Line()

	// PayloadSize: the fixed part and the trailing arrays.
	size := jen.Lit(0)
	if te.kind != payloadEmpty {
		size = jen.Lit(int(ev.Size))
	}
	for _, a := range te.arrays {
		n := jen.Len(jen.Id("e").Dot(a.field))
		if a.ElemSize != 1 {
			n = jen.Lit(int(a.ElemSize)).Op("*").Add(n)
		}
		size = size.Op("+").Add(n)
	}
	f.Comment("PayloadSize returns the size of the payload the event was decoded from.")
	recv().Id("PayloadSize").Params().Int().Block(jen.Return(size))
	f.Line()

	f.Comment("Clone returns a deep copy that owns all its memory.")
	recv().Id("Clone").Params().Id("Event").BlockFunc(func(b *jen.Group) {
		b.Id("c").Op(":=").Op("*").Id("e")
		if te.kind == payloadStruct {
			b.Id("c").Dot(te.embed).Op("=").Id("clonePtr").Call(jen.Id("e").Dot(te.embed))
		}
		for _, a := range te.arrays {
			b.Id("c").Dot(a.field).Op("=").Id("cloneSlice").Call(jen.Id("e").Dot(a.field))
		}
		b.Return(jen.Op("&").Id("c"))
	})
	f.Line()

	missing := jen.False()
	if te.kind == payloadStruct {
		missing = jen.Id("e").Dot(te.embed).Op("==").Nil()
	}
	recv().Id("missingPayload").Params().Bool().Block(jen.Return(missing))
	f.Line()
}

// --- zdecode.go ---

func (g *emitter) decoders() *jen.File {
	f := g.newFile(g.cfg.Package)
	et := g.eventType()

	f.Comment("Decoder turns descriptors and payloads into typed events. It holds one")
	f.Comment("event value per kind and returns a pointer to it: an event it returned is")
	f.Comment("overwritten by its next View or Read of the same kind (Clone makes an owned")
	f.Comment("copy). The zero value is ready to use. A Decoder is not safe for")
	f.Comment("concurrent use.")
	f.Type().Id("Decoder").StructFunc(func(s *jen.Group) {
		for _, te := range g.typed {
			s.Id(te.field).Id(te.typ)
		}
		s.Id("unknown").Id("UnknownEvent")
		s.Id("buf").Index().Uint64().Comment("Read's 8-byte aligned copy of the payload")
	})
	f.Line()

	f.Comment("View returns the typed event of descriptor d whose payload is p (normally")
	f.Comment("the ring's zero-copy view of it), decoded in place: its payload fields")
	f.Comment("point into p, and the event is the Decoder's own (see Decoder). View does")
	f.Comment("not check that p is still valid: with a ring's payload view, call")
	f.Comment("PayloadValid(d) after reading the event, or use Read. A code this schema")
	f.Comment("does not define gives an *UnknownEvent holding p; a payload that does not")
	f.Comment("fit its event type gives a *PayloadError. View never panics.")
	f.Func().Params(jen.Id("dec").Op("*").Id("Decoder")).Id("View").Params(jen.Id("d").Op("*").Qual(ringPkg, "Descriptor"), jen.Id("p").Index().Byte()).Params(jen.Id("Event"), jen.Error()).Block(
		jen.Var().Id("e").Id("Event"),
		jen.Switch(jen.Id(et).Call(jen.Id("d").Dot("EventType"))).BlockFunc(func(s *jen.Group) {
			for _, te := range g.typed {
				s.Case(jen.Id(te.konst)).Block(jen.Id("e").Op("=").Op("&").Id("dec").Dot(te.field))
			}
			s.Default().Block(jen.Id("e").Op("=").Op("&").Id("dec").Dot("unknown"))
		}),
		jen.If(jen.Err().Op(":=").Id("e").Dot("view").Call(jen.Id("metaOf").Call(jen.Id("d")), jen.Id("p")), jen.Err().Op("!=").Nil()).Block(
			jen.Return(jen.Nil(), jen.Err()),
		),
		jen.Return(jen.Id("e"), jen.Nil()),
	)
	f.Line()

	f.Comment("newEvent returns a new event of type t to decode into; an *UnknownEvent")
	f.Comment("for a code this schema does not define.")
	f.Func().Id("newEvent").Params(jen.Id("t").Id(et)).Id("Event").Block(
		jen.Switch(jen.Id("t")).BlockFunc(func(s *jen.Group) {
			for _, te := range g.typed {
				s.Case(jen.Id(te.konst)).Block(jen.Return(jen.New(jen.Id(te.typ))))
			}
		}),
		jen.Return(jen.New(jen.Id("UnknownEvent"))),
	)
	f.Line()

	if g.needsBytes32s() {
		b32 := g.bytes32Type()
		f.Comment("bytes32s views b, a multiple of 32 bytes long, as 32-byte elements.")
		f.Func().Id("bytes32s").Params(jen.Id("b").Index().Byte()).Index().Add(b32).Block(
			jen.If(jen.Len(jen.Id("b")).Op("==").Lit(0)).Block(jen.Return(jen.Nil())),
			jen.Return(jen.Qual("unsafe", "Slice").Call(jen.Parens(jen.Op("*").Add(b32)).Call(jen.Qual("unsafe", "Pointer").Call(jen.Qual("unsafe", "SliceData").Call(jen.Id("b")))), jen.Len(jen.Id("b")).Op("/").Lit(32))),
		)
		f.Line()
	}

	for i := range g.typed {
		g.decoder(f, &g.typed[i])
	}
	return f
}

// needsBytes32s reports whether a trailing array has 32-byte elements.
func (g *emitter) needsBytes32s() bool {
	for _, te := range g.typed {
		for _, a := range te.arrays {
			if a.ElemSize == 32 {
				return true
			}
		}
	}
	return false
}

// decoder emits the view method of one typed event: the checks of its
// payload and the zero-copy decoding.
func (g *emitter) decoder(f *jen.File, te *typedEvent) {
	ev := te.ev
	c := jen.Id(te.konst)
	size := int(ev.Size)
	recv := jen.Func().Params(jen.Id("e").Op("*").Id(te.typ)).Id("view").Params(jen.Id("m").Id("EventMeta"), jen.Id("p").Index().Byte()).Error()
	switch {
	case te.kind == payloadEmpty:
		doc(f, fmt.Sprintf("view decodes %s event, which has no payload.", article(ev.Name)))
		f.Add(recv).Block(
			jen.If(jen.Len(jen.Id("p")).Op("!=").Lit(0)).Block(jen.Return(jen.Id("notEmptyError").Call(c, jen.Id("p")))),
			jen.Id("e").Dot("EventMeta").Op("=").Id("m"),
			jen.Return(jen.Nil()),
		)
		f.Line()
		return
	case len(te.arrays) == 0:
		doc(f, fmt.Sprintf("view decodes %s payload: exactly %d bytes, viewed in place.", article(ev.Name), size))
		pt := g.payloadType(te)
		f.Add(recv).BlockFunc(func(b *jen.Group) {
			b.List(jen.Id("x"), jen.Err()).Op(":=").Id("viewStruct").Types(pt).Call(c, jen.Id("p"), jen.Lit(size), jen.True())
			b.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Err()))
			if te.kind == payloadScalar {
				b.List(jen.Id("e").Dot("EventMeta"), jen.Id("e").Dot(te.embed)).Op("=").List(jen.Id("m"), jen.Op("*").Id("x"))
			} else {
				b.List(jen.Id("e").Dot("EventMeta"), jen.Id("e").Dot(te.embed)).Op("=").List(jen.Id("m"), jen.Id("x"))
			}
			b.Return(jen.Nil())
		})
		f.Line()
		return
	}
	var rule string
	if len(ev.SizeRule) > 0 {
		rule = fmt.Sprintf("the payload must be %s bytes long", strings.Join(sizeStrings(ev.SizeRule), " or "))
	} else {
		rule = fmt.Sprintf("the payload must be exactly the %d-byte struct plus the arrays its counts declare", size)
	}
	doc(f, fmt.Sprintf("view decodes %s payload without copying: %s.", article(ev.Name), rule))
	pt := g.payloadType(te)
	f.Add(recv).BlockFunc(func(b *jen.Group) {
		if len(ev.SizeRule) > 0 {
			cond := jen.Null()
			for i, s := range ev.SizeRule {
				if i > 0 {
					cond.Op("&&")
				}
				cond.Len(jen.Id("p")).Op("!=").Lit(int(s))
			}
			b.If(cond).Block(
				jen.Return(jen.Id("sizeRuleError").CallFunc(func(a *jen.Group) {
					a.Add(c)
					a.Id("p")
					for _, s := range ev.SizeRule {
						a.Lit(int(s))
					}
				})),
			)
		}
		b.List(jen.Id("x"), jen.Err()).Op(":=").Id("viewStruct").Types(pt).Call(c, jen.Id("p"), jen.Lit(size), jen.False())
		b.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Err()))
		b.Id("rest").Op(":=").Id("p").Index(jen.Lit(size).Op(":"))
		for i, a := range te.arrays {
			v := jen.Id(fmt.Sprintf("a%d", i))
			if a.Remainder {
				b.Add(v).Op(":=").Id("rest")
				continue
			}
			count := jen.Id("x")
			for _, p := range goFieldPath(a.LengthField) {
				count = count.Dot(p)
			}
			b.List(v, jen.Id("rest"), jen.Err()).Op(":=").Id("trailing").Call(c, jen.Id("p"), jen.Id("rest"), jen.Uint64().Call(count), jen.Lit(int(a.ElemSize)), jen.Lit(a.LengthField))
			b.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Err()))
		}
		if !te.arrays[len(te.arrays)-1].Remainder {
			b.If(jen.Len(jen.Id("rest")).Op("!=").Lit(0)).Block(jen.Return(jen.Id("longError").Call(c, jen.Id("p"), jen.Id("rest"))))
		}
		b.List(jen.Id("e").Dot("EventMeta"), jen.Id("e").Dot(te.embed)).Op("=").List(jen.Id("m"), jen.Id("x"))
		for i, a := range te.arrays {
			v := jen.Id(fmt.Sprintf("a%d", i))
			if a.ElemSize == 32 {
				v = jen.Id("bytes32s").Call(v)
			}
			b.Id("e").Dot(a.field).Op("=").Add(v)
		}
		b.Return(jen.Nil())
	})
	f.Line()
}

// goFieldPath turns a dotted C member path into a Go selector path.
func goFieldPath(path string) []string {
	var r []string
	for _, p := range strings.Split(path, ".") {
		r = append(r, goFieldName(p))
	}
	return r
}

func sizeStrings(sizes []int64) []string {
	var r []string
	for _, s := range sizes {
		r = append(r, fmt.Sprint(s))
	}
	return r
}

// article prefixes a name (an event's C name, a Go type) with "a" or "an",
// by its first letter.
func article(name string) string {
	if name != "" && strings.ContainsRune("AEIOUaeiou", rune(name[0])) {
		return "an " + name
	}
	return "a " + name
}

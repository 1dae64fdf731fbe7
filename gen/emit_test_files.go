package gen

import (
	"fmt"
	"strings"

	"github.com/dave/jennifer/jen"
)

// layoutChecks appends, for struct s known in Go as typ, checks of its size,
// alignment and member offsets against the C layout.
func (g *emitter) layoutChecks(b *jen.Group, typ string, s *cStruct) {
	zero := zeroValue(typ, s)
	b.Id("check").Call(jen.Lit("sizeof("+typ+")"), jen.Qual("unsafe", "Sizeof").Call(zero), jen.Lit(int(s.Size)))
	b.Id("checkAlign").Call(jen.Lit(typ), jen.Qual("unsafe", "Alignof").Call(zero), jen.Lit(int(s.Align)))
	if s.Typedef {
		return
	}
	for _, m := range g.members(s) {
		b.Id("check").Call(jen.Lit(fmt.Sprintf("offsetof(%s.%s)", typ, m.name)), jen.Qual("unsafe", "Offsetof").Call(jen.Id(typ).Values().Dot(m.name)), jen.Lit(int(m.off)))
		b.Id("check").Call(jen.Lit(fmt.Sprintf("sizeof(%s.%s)", typ, m.name)), jen.Qual("unsafe", "Sizeof").Call(jen.Id(typ).Values().Dot(m.name)), jen.Lit(int(m.size)))
	}
}

func layoutHelpers(b *jen.Group) {
	b.Id("check").Op(":=").Func().Params(jen.Id("what").String(), jen.Id("got"), jen.Id("want").Uintptr()).Block(
		jen.Id("t").Dot("Helper").Call(),
		jen.If(jen.Id("got").Op("!=").Id("want")).Block(
			jen.Id("t").Dot("Errorf").Call(jen.Lit("%s = %d, C has %d"), jen.Id("what"), jen.Id("got"), jen.Id("want")),
		),
	)
	b.Comment("Go may align less strictly than C (uint64 vs __uint128_t) but never more.")
	b.Id("checkAlign").Op(":=").Func().Params(jen.Id("what").String(), jen.Id("got"), jen.Id("want").Uintptr()).Block(
		jen.Id("t").Dot("Helper").Call(),
		jen.If(jen.Id("got").Op(">").Id("want").Op("||").Id("want").Op("%").Id("got").Op("!=").Lit(0)).Block(
			jen.Id("t").Dot("Errorf").Call(jen.Lit("alignof(%s) = %d, incompatible with C's %d"), jen.Id("what"), jen.Id("got"), jen.Id("want")),
		),
	)
}

// --- execevents/zlayout_test.go ---

func (g *emitter) layoutTest() *jen.File {
	f := g.newFile(g.cfg.Package)
	f.Comment("TestLayout checks every generated type against the C layout.")
	f.Func().Id("TestLayout").Params(jen.Id("t").Op("*").Qual("testing", "T")).BlockFunc(func(b *jen.Group) {
		layoutHelpers(b)
		for _, name := range g.byteStrings {
			s := g.m.Structs[name]
			n := g.goName(name)
			b.Id("check").Call(jen.Lit("sizeof("+n+")"), jen.Qual("unsafe", "Sizeof").Call(jen.Id(n).Values()), jen.Lit(int(s.Size)))
		}
		for _, name := range g.enums {
			e := g.m.Enums[name]
			n := g.goName(name)
			b.Id("check").Call(jen.Lit("sizeof("+n+")"), jen.Qual("unsafe", "Sizeof").Call(jen.Id(n).Call(jen.Lit(0))), jen.Lit(int(e.Size)))
		}
		for _, name := range g.structs {
			g.layoutChecks(b, g.goName(name), g.m.Structs[name])
		}
	})
	f.Line()
	f.Comment("TestEventSizes checks the event table's fixed sizes against the Go types.")
	f.Func().Id("TestEventSizes").Params(jen.Id("t").Op("*").Qual("testing", "T")).BlockFunc(func(b *jen.Group) {
		b.Id("sizes").Op(":=").Map(jen.Id(g.eventType())).Uintptr().Values(jen.DictFunc(func(d jen.Dict) {
			for i := range g.m.Events {
				ev := &g.m.Events[i]
				if ev.Payload == "" {
					continue
				}
				s := g.m.Structs[ev.Payload]
				d[jen.Id(g.eventConst(ev))] = jen.Qual("unsafe", "Sizeof").Call(g.payloadZero(ev.Payload, s))
			}
		}))
		b.For(jen.List(jen.Id("_"), jen.Id("e")).Op(":=").Range().Id("Events")).Block(
			jen.If(jen.List(jen.Id("want"), jen.Id("ok")).Op(":=").Id("sizes").Index(jen.Id("e").Dot("Type")), jen.Id("ok").Op("&&").Uintptr().Call(jen.Id("e").Dot("Size")).Op("!=").Id("want")).Block(
				jen.Id("t").Dot("Errorf").Call(jen.Lit("Events[%v].Size = %d, Go payload type has %d"), jen.Id("e").Dot("Type"), jen.Id("e").Dot("Size"), jen.Id("want")),
			),
		)
	})
	f.Line()
	return f
}

func (g *emitter) payloadZero(cname string, s *cStruct) jen.Code {
	if s.Scalar != nil {
		return jen.Id(g.goName(cname)).Call(jen.Lit(0))
	}
	return jen.Add(g.named(cname)).Values()
}

// --- eventring/zlayout_test.go ---

func (g *emitter) ringLayoutTest() (*jen.File, error) {
	f := g.newFile("eventring")
	any := false
	f.Comment("TestGeneratedLayout checks the hand-written ring types against the C")
	f.Comment("layout of event_ring.h.")
	f.Func().Id("TestGeneratedLayout").Params(jen.Id("t").Op("*").Qual("testing", "T")).BlockFunc(func(b *jen.Group) {
		layoutHelpers(b)
		for _, cname := range sortedKeys(ringTypes) {
			goName := ringTypes[cname]
			if s := g.m.Structs[cname]; s != nil {
				any = true
				g.layoutChecks(b, goName, s)
			}
			if e := g.m.Enums[cname]; e != nil {
				any = true
				b.Id("check").Call(jen.Lit("sizeof("+goName+")"), jen.Qual("unsafe", "Sizeof").Call(jen.Id(goName).Call(jen.Lit(0))), jen.Lit(int(e.Size)))
				prefix := enumPrefix(e.Values)
				for _, v := range e.Values {
					if strings.HasSuffix(v.Name, "_COUNT") {
						continue
					}
					want := strings.TrimPrefix(v.Name, prefix)
					b.If(jen.Id("got").Op(":=").Id(goName).Call(enumLit(e, v)).Dot("String").Call(), jen.Id("got").Op("!=").Lit(want)).Block(
						jen.Id("t").Dot("Errorf").Call(jen.Lit(fmt.Sprintf("%s(%d).String() = %%q, C enumerator is %s", goName, v.Value, v.Name)), jen.Id("got")),
					)
				}
			}
		}
		for _, c := range g.m.Constants {
			if goName, ok := ringConstants[c.Name]; ok && c.Int {
				any = true
				b.Id("check").Call(jen.Lit(goName), jen.Id(goName), jen.Lit(int(c.Value)))
			}
		}
	})
	if !any {
		return nil, nil
	}
	return f, nil
}

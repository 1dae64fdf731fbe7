package gen

import (
	"github.com/dave/jennifer/jen"
)

// eventConst is the Go constant of an event.
func (g *emitter) eventConst(ev *eventDef) string {
	e := g.m.Enums[g.m.EventEnum]
	return goEnumConst(g.goName(e.Name), enumPrefix(e.Values), ev.CEnum)
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

// bytes32Name is the C name of the vocabulary type of 32-byte trailing
// elements (monad_c_bytes32), "" if the schema has none.
func (g *emitter) bytes32Name() string {
	for _, n := range g.byteStrings {
		if g.m.Structs[n].Size == 32 {
			return n
		}
	}
	return ""
}

// bytes32Type is the Go type of 32-byte trailing elements.
func (g *emitter) bytes32Type() jen.Code {
	if n := g.bytes32Name(); n != "" {
		return jen.Id(g.goName(n))
	}
	return jen.Index(jen.Lit(32)).Byte()
}

package gen

import (
	"fmt"
	"slices"
	"strings"

	"modernc.org/cc/v4"
)

// events reads the event table from the metadata array's designated
// initializers and the schema hash from the uint8_t[32] array.
func (b *builder) events() error {
	if len(b.metadata) != 1 {
		return fmt.Errorf("want exactly one initialized event metadata array (struct with event_type, c_name, description), found %d", len(b.metadata))
	}
	switch len(b.hash) {
	case 0:
	case 1:
		if err := b.schemaHash(b.hash[0]); err != nil {
			return err
		}
	default:
		var names []string
		for _, d := range b.hash {
			names = append(names, d.Name())
		}
		return fmt.Errorf("more than one initialized uint8_t[32] array, cannot tell the schema hash: %s", strings.Join(names, ", "))
	}
	owner := map[string]*cEnum{} // enumerator name -> enum
	for _, name := range sortedKeys(b.m.Enums) {
		for _, v := range b.m.Enums[name].Values {
			owner[v.Name] = b.m.Enums[name]
		}
	}
	in := b.initializerOf(b.metadata[0])
	if in == nil || in.InitializerList == nil {
		return fmt.Errorf("%s has no initializer list", b.metadata[0].Name())
	}
	// The element struct's members in order, for positional initializers.
	var members []string
	if at, ok := b.metadata[0].Type().(*cc.ArrayType); ok {
		if st, ok := at.Elem().(*cc.StructType); ok {
			for i := 0; i < st.NumFields(); i++ {
				members = append(members, st.FieldByIndex(i).Name())
			}
		}
	}
	// enumOf notes the enum an enumerator used in the table belongs to.
	enumOf := func(e cc.ExpressionNode, pos fmt.Stringer) error {
		if o := owner[identOf(e)]; o != nil {
			if b.m.EventEnum != "" && b.m.EventEnum != o.Name {
				return fmt.Errorf("%v: event metadata mixes enums %s and %s", pos, b.m.EventEnum, o.Name)
			}
			b.m.EventEnum = o.Name
		}
		return nil
	}
	byValue := map[int64]*eventDef{}
	next := int64(0)
	for l := in.InitializerList; l != nil; l = l.InitializerList {
		idx := next
		if d := l.Designation; d != nil && d.DesignatorList != nil {
			ds := d.DesignatorList.Designator
			if ds.Case != cc.DesignatorIndex {
				return fmt.Errorf("%v: unsupported designator in event metadata", ds.Position())
			}
			idx = intValue(ds.ConstantExpression.Value())
			if err := enumOf(ds.ConstantExpression, ds.Position()); err != nil {
				return err
			}
		}
		next = idx + 1
		ev := &eventDef{Value: idx}
		if l.Initializer == nil || l.Initializer.InitializerList == nil {
			return fmt.Errorf("%v: event metadata element is not a braced initializer", l.Position())
		}
		// Members are designated (.c_name = ...) or positional, in the
		// order of the struct's declaration.
		pos := 0
		for f := l.Initializer.InitializerList; f != nil; f = f.InitializerList {
			if d := f.Designation; d != nil && d.DesignatorList != nil {
				ds := d.DesignatorList.Designator
				name := ds.Token2.SrcStr()
				if ds.Case == cc.DesignatorField2 {
					name = ds.Token.SrcStr()
				}
				if pos = slices.Index(members, name); pos < 0 {
					return fmt.Errorf("%v: unsupported designator in event metadata", ds.Position())
				}
			}
			member := ""
			if pos >= 0 && pos < len(members) {
				member = members[pos]
			}
			pos++
			if f.Initializer == nil || f.Initializer.AssignmentExpression == nil {
				continue
			}
			v := f.Initializer.AssignmentExpression.Value()
			switch member {
			case "c_name":
				if s, ok := v.(cc.StringValue); ok {
					ev.Name = strings.TrimSuffix(string(s), "\x00")
				}
			case "description":
				if s, ok := v.(cc.StringValue); ok {
					ev.Description = strings.TrimSuffix(string(s), "\x00")
				}
			case "event_type":
				if got := intValue(v); got != idx {
					return fmt.Errorf("%v: metadata element [%d] has event_type %d", f.Position(), idx, got)
				}
				if err := enumOf(f.Initializer.AssignmentExpression, f.Position()); err != nil {
					return err
				}
			}
		}
		if ev.Name == "" {
			return fmt.Errorf("%v: metadata element [%d] has no c_name string", l.Position(), idx)
		}
		byValue[idx] = ev
	}
	if b.m.EventEnum == "" {
		return fmt.Errorf("cannot tell the event enum: the metadata array names no enumerator")
	}
	enum := b.m.Enums[b.m.EventEnum]
	for _, v := range enum.Values {
		ev := byValue[v.Value]
		if ev == nil {
			return fmt.Errorf("event %s (%d) has no metadata", v.Name, v.Value)
		}
		ev.CEnum = v.Name
		delete(byValue, v.Value)
		b.m.Events = append(b.m.Events, *ev)
	}
	if len(byValue) != 0 {
		return fmt.Errorf("metadata for values missing from enum %s", enum.Name)
	}
	slices.SortFunc(b.m.Events, func(a, c eventDef) int { return int(a.Value - c.Value) })
	for i := range b.m.Events {
		ev := &b.m.Events[i]
		// The payload type of MONAD_X_FOO is monad_x_foo, by the schema's
		// naming convention; events without one have empty payloads.
		if s := b.m.Structs[strings.ToLower(ev.CEnum)]; s != nil {
			ev.Payload = s.Name
		} else if ev.Name == "RECORD_ERROR" && b.m.Structs["monad_event_record_error"] != nil {
			ev.Payload = "monad_event_record_error"
		}
		if ev.Payload != "" {
			ev.Size = b.m.Structs[ev.Payload].Size
		}
	}
	// The content type: monad_exec_event_type -> EXEC.
	ct := strings.TrimPrefix(b.m.EventEnum, "monad_")
	ct = strings.TrimSuffix(strings.TrimSuffix(ct, "_type"), "_event")
	b.m.ContentType = strings.ToUpper(ct)
	return nil
}

func identOf(e cc.ExpressionNode) string {
	toks := cc.NodeTokens(e)
	if len(toks) == 1 && toks[0].Ch == rune(cc.IDENTIFIER) {
		return toks[0].SrcStr()
	}
	return ""
}

func (b *builder) schemaHash(d *cc.Declarator) error {
	in := b.initializerOf(d)
	if in == nil || in.InitializerList == nil {
		return fmt.Errorf("%s: schema hash is not a braced initializer", d.Name())
	}
	i := int64(0)
	for l := in.InitializerList; l != nil; l = l.InitializerList {
		if l.Designation != nil {
			ds := l.Designation.DesignatorList
			if ds == nil || ds.DesignatorList != nil || ds.Designator.Case != cc.DesignatorIndex {
				return fmt.Errorf("%v: unsupported designator in the schema hash", l.Position())
			}
			i = intValue(ds.Designator.ConstantExpression.Value())
		}
		if l.Initializer == nil || l.Initializer.AssignmentExpression == nil || i < 0 || i >= 32 {
			return fmt.Errorf("%v: unsupported schema hash initializer", l.Position())
		}
		b.m.SchemaHash[i] = byte(intValue(l.Initializer.AssignmentExpression.Value()))
		i++
	}
	// Elements not initialized are zero, as in C ({0} is all zeros).
	b.m.HasSchemaHash = true
	b.m.SchemaHashSymbol = d.Name()
	return nil
}

// applyRules attaches the trailing-array rules to the events they name.
func (b *builder) applyRules(rules []trailingRule) {
rules:
	for _, r := range rules {
		i := slices.IndexFunc(b.m.Events, func(e eventDef) bool { return e.Name == r.Event })
		if i < 0 {
			b.m.Warnings = append(b.m.Warnings, fmt.Sprintf("trailing-array rule for %s: no such event in the headers; ignored", r.Event))
			continue
		}
		ev := &b.m.Events[i]
		if ev.Payload == "" {
			b.m.Warnings = append(b.m.Warnings, fmt.Sprintf("trailing-array rule for %s: the event has no payload struct; ignored", r.Event))
			continue
		}
		for _, a := range r.Arrays {
			if a.ElemSize != 1 && a.ElemSize != 32 {
				b.m.Warnings = append(b.m.Warnings, fmt.Sprintf("trailing-array rule for %s: %s has %d-byte elements, only 1 and 32 are supported; event decodes as fixed-size", r.Event, a.Name, a.ElemSize))
				continue rules
			}
			if a.Remainder {
				continue
			}
			if _, err := b.m.fieldPath(ev.Payload, a.LengthField); err != nil {
				b.m.Warnings = append(b.m.Warnings, fmt.Sprintf("trailing-array rule for %s: %v; event decodes as fixed-size", r.Event, err))
				continue rules
			}
		}
		ev.Trailing = r.Arrays
		ev.SizeRule = r.Sizes
	}
}

// fieldPath resolves a dotted member path ("txn_header.data_length") in a
// struct and returns the innermost field with its absolute offset.
func (m *model) fieldPath(structName, path string) (cField, error) {
	s := m.Structs[structName]
	var off int64
	parts := strings.Split(path, ".")
	for i, p := range parts {
		if s == nil {
			return cField{}, fmt.Errorf("%s is not a struct", strings.Join(parts[:i], "."))
		}
		j := slices.IndexFunc(s.Fields, func(f cField) bool { return f.Name == p })
		if j < 0 {
			return cField{}, fmt.Errorf("%s has no member %s", s.Name, p)
		}
		f := s.Fields[j]
		if unaligned(s, f) {
			return cField{}, fmt.Errorf("%s.%s is unaligned (a packed struct)", s.Name, p)
		}
		off += f.Offset
		if i == len(parts)-1 {
			if f.Type.Kind != kindInt || f.BitField {
				return cField{}, fmt.Errorf("%s.%s is not an integer member", s.Name, p)
			}
			f.Offset = off
			return f, nil
		}
		if f.Type.Kind != kindStruct {
			return cField{}, fmt.Errorf("%s.%s is not a struct", s.Name, p)
		}
		s = m.Structs[f.Type.Name]
	}
	return cField{}, fmt.Errorf("empty member path")
}

// unaligned reports whether member f of s sits where its Go type cannot:
// in a packed struct. Go aligns a type to at most min(C alignment, 8), so
// C's natural alignment decides. Such members are emitted as raw bytes.
func unaligned(s *cStruct, f cField) bool {
	a := min(f.Type.Align, 8)
	return a > 0 && (f.Offset%a != 0 || a > s.Align)
}

package gen

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// schemaDiff is what differs between the models of two header trees: the
// schema changes and, apart, the changes of event descriptions. Each entry
// is one line of eventgen -diff's report.
type schemaDiff struct {
	Schema       []string
	Descriptions []string
}

// summary is the report's last line.
func (d schemaDiff) summary() string {
	switch {
	case len(d.Schema) == 0 && len(d.Descriptions) == 0:
		return "no schema change"
	case len(d.Schema) == 0:
		return "no schema change (only descriptions differ)"
	}
	s := plural(len(d.Schema), "schema change")
	if n := len(d.Descriptions); n > 0 {
		s += ", and " + plural(n, "description change")
	}
	return s
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// diffSchemas compares the schema of two models, old and new.
//
// The schema is what decides the bytes of a ring and the Go API of the
// bindings made from it:
//   - the schema hash and the content type;
//   - the event table: codes, names (c_name), enumerators, payload types,
//     fixed payload sizes, trailing-array and payload-size rules;
//   - the layout (size, alignment, members' types, offsets, sizes and
//     bit-field placement, typedef targets) of every struct reachable from
//     an event payload or a ring type of event_ring.h ([ringTypes]), and of
//     every byte-string vocabulary struct (the bindings define them all);
//   - every enum's underlying type and enumerators (the event enum is
//     covered by the event table);
//   - the constants the bindings carry: those declared outside the ring
//     header (emitted as Go constants) and those of [ringConstants]
//     (checked by eventring's generated layout test); by name and value.
//
// Not schema, so not compared: comments (not in the model), event
// descriptions (reported apart: they are our own words in headers/ and the
// daemon's in a checkout), the C spelling of a type when its layout is the
// same (uint64_t or unsigned long, a typedef name or its struct), the file
// or line of a declaration, structs that only process-memory types use
// (the metadata record, the mapped ring: they hold pointers), and the other
// constants of the ring header, which the bindings neither define nor
// check (the ring library's limits: spec §10.3, the schema hash does not
// cover the ring level).
func diffSchemas(old, new *model) schemaDiff {
	var d schemaDiff
	add := func(format string, args ...any) { d.Schema = append(d.Schema, fmt.Sprintf(format, args...)) }

	if old.HasSchemaHash != new.HasSchemaHash || old.SchemaHash != new.SchemaHash {
		add("schema hash: %s -> %s", hashString(old), hashString(new))
	}
	if old.ContentType != new.ContentType {
		add("content type: %s -> %s", old.ContentType, new.ContentType)
	}
	if old.EventEnum != new.EventEnum {
		add("event enum: %s -> %s", old.EventEnum, new.EventEnum)
	}
	diffEvents(old, new, add, func(format string, args ...any) {
		d.Descriptions = append(d.Descriptions, fmt.Sprintf(format, args...))
	})
	diffStructs(old, new, add)
	diffEnums(old, new, add)
	diffConstants(old, new, add)
	return d
}

// diffEvents compares the event tables. Events keep their identity by
// name: an event under the same name at another code has moved; an event
// whose code another name took (and whose own name is gone) was renamed.
func diffEvents(old, new *model, add, desc func(string, ...any)) {
	oldByName, newByName := map[string]*eventDef{}, map[string]*eventDef{}
	for i := range old.Events {
		oldByName[old.Events[i].Name] = &old.Events[i]
	}
	for i := range new.Events {
		newByName[new.Events[i].Name] = &new.Events[i]
	}
	// Pairs of (old, new) events, in the new table's order, then the
	// removed events in the old table's order.
	type pair struct{ o, n *eventDef }
	var pairs []pair
	paired := map[*eventDef]bool{}
	for i := range new.Events {
		n := &new.Events[i]
		if o := oldByName[n.Name]; o != nil {
			pairs = append(pairs, pair{o, n})
			paired[o] = true
		}
	}
	for i := range new.Events {
		n := &new.Events[i]
		if oldByName[n.Name] != nil {
			continue
		}
		// A renamed event: the old event at this code lost its name.
		var o *eventDef
		for j := range old.Events {
			if c := &old.Events[j]; c.Value == n.Value && !paired[c] && newByName[c.Name] == nil {
				o = c
			}
		}
		pairs = append(pairs, pair{o, n})
		if o != nil {
			paired[o] = true
		}
	}
	for i := range old.Events {
		if o := &old.Events[i]; !paired[o] {
			pairs = append(pairs, pair{o, nil})
		}
	}
	slices.SortStableFunc(pairs, func(a, b pair) int {
		ka, kb := a.n, b.n
		if ka == nil {
			ka = a.o
		}
		if kb == nil {
			kb = b.o
		}
		return int(ka.Value - kb.Value)
	})
	for _, p := range pairs {
		o, n := p.o, p.n
		switch {
		case n == nil:
			add("event %d %s: removed", o.Value, o.Name)
			continue
		case o == nil:
			add("event %d %s: added (%s)", n.Value, n.Name, payloadString(n))
			continue
		}
		label := fmt.Sprintf("event %d %s", n.Value, n.Name)
		var ch []string
		if o.Name != n.Name {
			ch = append(ch, fmt.Sprintf("renamed from %s", o.Name))
		}
		if o.Value != n.Value {
			ch = append(ch, fmt.Sprintf("code %d -> %d", o.Value, n.Value))
		}
		if o.CEnum != n.CEnum {
			ch = append(ch, fmt.Sprintf("enumerator %s -> %s", o.CEnum, n.CEnum))
		}
		if o.Payload != n.Payload {
			ch = append(ch, fmt.Sprintf("payload %s -> %s", orNone(o.Payload), orNone(n.Payload)))
		}
		if o.Size != n.Size {
			ch = append(ch, fmt.Sprintf("payload size %d -> %d", o.Size, n.Size))
		}
		if a, b := trailingString(o.Trailing), trailingString(n.Trailing); a != b {
			ch = append(ch, fmt.Sprintf("trailing arrays %s -> %s", a, b))
		}
		if !slices.Equal(o.SizeRule, n.SizeRule) {
			ch = append(ch, fmt.Sprintf("allowed payload sizes %s -> %s", sizesString(o.SizeRule), sizesString(n.SizeRule)))
		}
		if len(ch) > 0 {
			add("%s: %s", label, strings.Join(ch, ", "))
		}
		if o.Description != n.Description {
			desc("%s: description %q -> %q", label, o.Description, n.Description)
		}
	}
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func payloadString(e *eventDef) string {
	if e.Payload == "" {
		return "empty payload"
	}
	s := fmt.Sprintf("payload %s, %d bytes", e.Payload, e.Size)
	if len(e.Trailing) > 0 {
		s += ", trailing " + trailingString(e.Trailing)
	}
	return s
}

func trailingString(ts []trailingArray) string {
	if len(ts) == 0 {
		return "none"
	}
	var parts []string
	for _, t := range ts {
		n := t.LengthField
		if t.Remainder {
			n = "rest of payload"
		}
		parts = append(parts, fmt.Sprintf("%s[%s]x%d", t.Name, n, t.ElemSize))
	}
	return strings.Join(parts, " ")
}

func sizesString(s []int64) string {
	if len(s) == 0 {
		return "any"
	}
	var parts []string
	for _, v := range s {
		parts = append(parts, strconv.FormatInt(v, 10))
	}
	return strings.Join(parts, " or ")
}

// schemaStructs returns the C names of the structs that are part of m's
// schema: those reachable from event payloads and from the ring types, and
// the byte-string vocabulary structs (the emitter's plan emits the same).
func schemaStructs(m *model) map[string]bool {
	seen := map[string]bool{}
	var visit func(string)
	visitType := func(t *cType) {
		for t.Kind == kindArray {
			t = t.Elem
		}
		if t.Kind == kindStruct {
			visit(t.Name)
		}
	}
	visit = func(name string) {
		s := m.Structs[name]
		if seen[name] || s == nil {
			return
		}
		seen[name] = true
		if s.Typedef {
			if s.Scalar != nil {
				visitType(s.Scalar)
			} else {
				visit(strings.TrimPrefix(s.TypedefOf, "struct "))
			}
			return
		}
		for i := range s.Fields {
			visitType(&s.Fields[i].Type)
		}
	}
	for _, name := range sortedKeys(ringTypes) {
		visit(name)
	}
	for _, e := range m.Events {
		if e.Payload != "" {
			visit(e.Payload)
		}
	}
	for name, s := range m.Structs {
		if isByteString(s) {
			seen[name] = true
		}
	}
	return seen
}

func diffStructs(old, new *model, add func(string, ...any)) {
	names := schemaStructs(old)
	for n := range schemaStructs(new) {
		names[n] = true
	}
	for _, name := range sortedKeys(names) {
		o, n := old.Structs[name], new.Structs[name]
		switch {
		case o == nil:
			add("%s: added (%d bytes, align %d)", structLabel(n), n.Size, n.Align)
			continue
		case n == nil:
			add("%s: removed", structLabel(o))
			continue
		}
		if o.Typedef && n.Typedef {
			if a, b := typedefTarget(o), typedefTarget(n); a != b {
				add("typedef %s: target %s", name, spellings(o, n, a, b))
			}
			// The target's own entry reports its layout; a scalar
			// typedef's layout is its type.
			continue
		}
		if o.Typedef != n.Typedef {
			add("%s: now %s", structDesc(o), structDesc(n))
			continue
		}
		label := structLabel(n)
		var ch []string
		if o.Size != n.Size {
			ch = append(ch, fmt.Sprintf("size %d -> %d", o.Size, n.Size))
		}
		if o.Align != n.Align {
			ch = append(ch, fmt.Sprintf("align %d -> %d", o.Align, n.Align))
		}
		if len(ch) > 0 {
			add("%s: %s", label, strings.Join(ch, ", "))
		}
		diffFields(label, o, n, add)
	}
}

func structLabel(s *cStruct) string {
	if s.Typedef {
		return "typedef " + s.Name
	}
	return "struct " + s.Name
}

// structDesc names a struct or typedef with its target.
func structDesc(s *cStruct) string {
	if s.Typedef {
		return fmt.Sprintf("typedef %s of %s", s.Name, s.TypedefOf)
	}
	return fmt.Sprintf("struct %s (%d bytes, align %d)", s.Name, s.Size, s.Align)
}

// typedefTarget is the layout-relevant target of a typedef.
func typedefTarget(s *cStruct) string {
	if s.Scalar != nil {
		return typeKey(s.Scalar)
	}
	return s.TypedefOf
}

// spellings returns "a -> b" for two typedefs whose targets differ,
// preferring the headers' spelling.
func spellings(o, n *cStruct, a, b string) string {
	if o.TypedefOf != n.TypedefOf {
		a, b = o.TypedefOf, n.TypedefOf
	}
	return a + " -> " + b
}

func diffFields(label string, o, n *cStruct, add func(string, ...any)) {
	oldFields := map[string]*cField{}
	for i := range o.Fields {
		if f := &o.Fields[i]; f.Name != "" {
			oldFields[f.Name] = f
		}
	}
	seen := map[string]bool{}
	for i := range n.Fields {
		nf := &n.Fields[i]
		if nf.Name == "" {
			continue // unnamed bit-fields and anonymous members: padding
		}
		seen[nf.Name] = true
		of := oldFields[nf.Name]
		if of == nil {
			add("%s.%s: added (%s)", label, nf.Name, fieldString(nf))
			continue
		}
		var ch []string
		if a, b := typeKey(&of.Type), typeKey(&nf.Type); a != b {
			if of.Type.CType != nf.Type.CType {
				a, b = of.Type.CType, nf.Type.CType
			}
			ch = append(ch, fmt.Sprintf("type %s -> %s", a, b))
		}
		if of.Offset != nf.Offset {
			ch = append(ch, fmt.Sprintf("offset %d -> %d", of.Offset, nf.Offset))
		}
		if of.Size != nf.Size {
			ch = append(ch, fmt.Sprintf("size %d -> %d", of.Size, nf.Size))
		}
		if a, b := bitsString(of), bitsString(nf); a != b {
			ch = append(ch, fmt.Sprintf("%s -> %s", a, b))
		}
		if len(ch) > 0 {
			add("%s.%s: %s", label, nf.Name, strings.Join(ch, ", "))
		}
	}
	for i := range o.Fields {
		if f := &o.Fields[i]; f.Name != "" && !seen[f.Name] {
			add("%s.%s: removed", label, f.Name)
		}
	}
}

func fieldString(f *cField) string {
	s := fmt.Sprintf("%s at offset %d, %d bytes", f.Type.CType, f.Offset, f.Size)
	if f.BitField {
		s += ", " + bitsString(f)
	}
	return s
}

func bitsString(f *cField) string {
	if !f.BitField {
		return "not a bit-field"
	}
	return fmt.Sprintf("bit-field of %d bits at bit %d", f.Bits, f.BitOffset)
}

// typeKey is a member type as the bindings see it: its layout-relevant
// identity, whatever C spelling gave it.
func typeKey(t *cType) string {
	switch t.Kind {
	case kindInt:
		if t.Signed {
			return fmt.Sprintf("int%d_t", t.Size*8)
		}
		return fmt.Sprintf("uint%d_t", t.Size*8)
	case kindBool:
		return "bool"
	case kindChar:
		return "char"
	case kindUint128:
		return "__uint128_t"
	case kindEnum:
		return "enum " + t.Name
	case kindStruct:
		return "struct " + t.Name
	case kindArray:
		return fmt.Sprintf("%s[%d]", typeKey(t.Elem), t.Len)
	case kindPointer:
		return "pointer"
	}
	return fmt.Sprintf("%s (%d bytes)", t.CType, t.Size)
}

func diffEnums(old, new *model, add func(string, ...any)) {
	names := map[string]bool{}
	for n := range old.Enums {
		names[n] = true
	}
	for n := range new.Enums {
		names[n] = true
	}
	for _, name := range sortedKeys(names) {
		o, n := old.Enums[name], new.Enums[name]
		if name == old.EventEnum || name == new.EventEnum {
			// Its enumerators are the event table's codes, compared there.
			if o != nil && n != nil && (o.Size != n.Size || o.Signed != n.Signed) {
				add("enum %s: underlying type %s -> %s", name, o.Underlying, n.Underlying)
			}
			continue
		}
		switch {
		case o == nil:
			add("enum %s: added (%s, %d values)", name, n.Underlying, len(n.Values))
			continue
		case n == nil:
			add("enum %s: removed", name)
			continue
		}
		if o.Size != n.Size || o.Signed != n.Signed {
			add("enum %s: underlying type %s -> %s", name, o.Underlying, n.Underlying)
		}
		oldValues := map[string]enumerator{}
		for _, v := range o.Values {
			oldValues[v.Name] = v
		}
		seen := map[string]bool{}
		for _, v := range n.Values {
			seen[v.Name] = true
			ov, ok := oldValues[v.Name]
			switch {
			case !ok:
				add("enum %s.%s: added (= %s)", name, v.Name, enumValueString(n, v.Value))
			case ov.Value != v.Value:
				add("enum %s.%s: %s -> %s", name, v.Name, enumValueString(o, ov.Value), enumValueString(n, v.Value))
			}
		}
		for _, v := range o.Values {
			if !seen[v.Name] {
				add("enum %s.%s: removed (was %s)", name, v.Name, enumValueString(o, v.Value))
			}
		}
	}
}

func enumValueString(e *cEnum, v int64) string {
	if e.Signed {
		return strconv.FormatInt(v, 10)
	}
	return strconv.FormatUint(uint64(v), 10)
}

// schemaConstants returns the constants of m that the bindings carry, by
// name: those declared outside the ring header, emitted as Go constants,
// and those of ringConstants, which eventring's generated layout test
// checks. (The emitter's plan makes the same split.)
func schemaConstants(m *model) map[string]constant {
	ringFiles := map[string]bool{}
	for c := range ringTypes {
		if s := m.Structs[c]; s != nil {
			ringFiles[s.File] = true
		}
		if e := m.Enums[c]; e != nil {
			ringFiles[e.File] = true
		}
	}
	r := map[string]constant{}
	for _, c := range m.Constants {
		if _, ok := ringConstants[c.Name]; ok || !ringFiles[c.File] {
			r[c.Name] = c
		}
	}
	return r
}

func diffConstants(old, new *model, add func(string, ...any)) {
	oc, nc := schemaConstants(old), schemaConstants(new)
	names := map[string]bool{}
	for n := range oc {
		names[n] = true
	}
	for n := range nc {
		names[n] = true
	}
	for _, name := range sortedKeys(names) {
		o, inOld := oc[name]
		n, inNew := nc[name]
		switch {
		case !inOld:
			add("constant %s: added (= %s)", name, constString(n))
		case !inNew:
			add("constant %s: removed (was %s)", name, constString(o))
		case constString(o) != constString(n):
			add("constant %s: %s -> %s", name, constString(o), constString(n))
		}
	}
}

func constString(c constant) string {
	switch {
	case !c.Int:
		return strconv.Quote(c.String)
	case c.Unsigned:
		return strconv.FormatUint(uint64(c.Value), 10)
	}
	return strconv.FormatInt(c.Value, 10)
}

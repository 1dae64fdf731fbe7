package main

import (
	"encoding"
	"encoding/hex"
	"fmt"
	"reflect"
	"strconv"
	"unicode"

	"github.com/holiman/uint256"

	"github.com/monadgo/events/execevents"
)

// This is the reflect-based renderer `watch --json` used before the
// generated encoders (Event.AppendPayloadJSON) replaced it. It is kept, in
// test code only, as the reference the generated JSON must equal byte for
// byte (TestWatchJSONMatchesReflect) and as the baseline of
// BenchmarkWatchJSONReflect.

// reflectPayloadJSON appends `,"payload":{...}` with the decoded fields of
// a typed event (everything but its descriptor facts, which the caller
// prints), or nothing for events without payload fields.
func reflectPayloadJSON(dst []byte, ev execevents.Event) []byte {
	v := reflect.ValueOf(ev)
	if v.Kind() == reflect.Pointer {
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return dst
	}
	mark := len(dst)
	dst = append(dst, `,"payload":{`...)
	var empty bool
	dst, empty = appendStructFields(dst, v, true)
	if empty {
		return dst[:mark]
	}
	return append(dst, '}')
}

// appendJSONValue renders a decoded payload (a generated struct, a view
// struct embedding one, or a scalar) as JSON, keeping Go's field order so
// that output reads like the C struct. Conventions follow Ethereum JSON-RPC
// where it has one: byte strings and hashes are 0x-hex, uint256 quantities
// are 0x-hex strings, 64-bit and smaller integers are plain numbers, types
// with a MarshalText method (Uint128: a decimal string) use it, enums with a
// String method print their name. Field names are the
// Go names in lower camel case ("ChainID" → "chainId").
func appendJSONValue(dst []byte, v reflect.Value) []byte {
	if !v.IsValid() {
		return append(dst, "null"...)
	}
	t := v.Type()
	switch {
	case t == uint256Type && v.CanInterface():
		u := v.Interface().(uint256.Int)
		return strconv.AppendQuote(dst, u.Hex())
	}
	if s, ok := textOf(v); ok {
		return strconv.AppendQuote(dst, s)
	}
	switch t.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return append(dst, "null"...)
		}
		return appendJSONValue(dst, v.Elem())
	case reflect.Bool:
		return strconv.AppendBool(dst, v.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if s, ok := enumName(v); ok {
			return strconv.AppendQuote(dst, s)
		}
		return strconv.AppendInt(dst, v.Int(), 10)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		if s, ok := enumName(v); ok {
			return strconv.AppendQuote(dst, s)
		}
		return strconv.AppendUint(dst, v.Uint(), 10)
	case reflect.String:
		return strconv.AppendQuote(dst, v.String())
	case reflect.Array, reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 && t.Elem() == reflect.TypeFor[byte]() {
			var b []byte
			if t.Kind() == reflect.Slice {
				b = v.Bytes()
			} else {
				b = make([]byte, v.Len())
				reflect.Copy(reflect.ValueOf(b), v)
			}
			return strconv.AppendQuote(dst, "0x"+hex.EncodeToString(b))
		}
		dst = append(dst, '[')
		for i := range v.Len() {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSONValue(dst, v.Index(i))
		}
		return append(dst, ']')
	case reflect.Struct:
		dst = append(dst, '{')
		dst, _ = appendStructFields(dst, v, true)
		return append(dst, '}')
	default:
		return append(dst, "null"...) // funcs, channels, ...: nothing in a payload
	}
}

// appendStructFields writes v's exported fields as "name":value pairs,
// flattening embedded structs (the generated view types embed the fixed
// payload struct). first reports whether no pair has been written yet.
func appendStructFields(dst []byte, v reflect.Value, first bool) ([]byte, bool) {
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Type == eventMetaType || !f.IsExported() && !f.Anonymous {
			continue
		}
		fv := v.Field(i)
		if f.Anonymous {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				if fv.IsNil() {
					continue
				}
				fv, ft = fv.Elem(), ft.Elem()
			}
			if ft.Kind() == reflect.Struct && !isSpecial(fv) {
				dst, first = appendStructFields(dst, fv, first)
				continue
			}
			if !f.IsExported() {
				continue
			}
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = strconv.AppendQuote(dst, jsonName(f.Name))
		dst = append(dst, ':')
		dst = appendJSONValue(dst, fv)
	}
	return dst, first
}

var (
	uint256Type       = reflect.TypeFor[uint256.Int]()
	eventMetaType     = reflect.TypeFor[execevents.EventMeta]()
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
	stringerType      = reflect.TypeFor[fmt.Stringer]()
)

func isSpecial(v reflect.Value) bool {
	if v.Type() == uint256Type {
		return true
	}
	_, ok := textOf(v)
	return ok
}

// textOf returns the MarshalText form of values whose type (or pointer type)
// implements encoding.TextMarshaler, e.g. Bytes32 and Address.
func textOf(v reflect.Value) (string, bool) {
	t := v.Type()
	if t.Kind() == reflect.Pointer || t.Kind() == reflect.Interface || !v.CanInterface() {
		return "", false
	}
	var m encoding.TextMarshaler
	switch {
	case t.Implements(textMarshalerType):
		m = v.Interface().(encoding.TextMarshaler)
	case reflect.PointerTo(t).Implements(textMarshalerType):
		p := reflect.New(t)
		p.Elem().Set(v)
		m = p.Interface().(encoding.TextMarshaler)
	default:
		return "", false
	}
	b, err := m.MarshalText()
	if err != nil {
		return "", false
	}
	return string(b), true
}

// enumName returns the String form of a named integer type that has one.
func enumName(v reflect.Value) (string, bool) {
	t := v.Type()
	if t.PkgPath() == "" || !t.Implements(stringerType) || !v.CanInterface() {
		return "", false
	}
	return v.Interface().(fmt.Stringer).String(), true
}

// jsonName turns a Go field name into lower camel case with initialisms
// treated as words: ChainID → chainId, EVMOutput → evmOutput, YParity →
// yParity.
func jsonName(name string) string {
	rs := []rune(name)
	var words [][]rune
	start := 0
	for i := 1; i < len(rs); i++ {
		prev, cur := rs[i-1], rs[i]
		nextLower := i+1 < len(rs) && unicode.IsLower(rs[i+1])
		if unicode.IsUpper(cur) && (unicode.IsLower(prev) || unicode.IsDigit(prev) || (unicode.IsUpper(prev) && nextLower)) {
			words = append(words, rs[start:i])
			start = i
		}
	}
	words = append(words, rs[start:])
	out := make([]rune, 0, len(rs))
	for i, w := range words {
		for j, r := range w {
			if i > 0 && j == 0 {
				out = append(out, unicode.ToUpper(r))
			} else {
				out = append(out, unicode.ToLower(r))
			}
		}
	}
	return string(out)
}

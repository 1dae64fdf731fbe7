package gen

import (
	"encoding/hex"
	"encoding/json"
)

// Layout is the model in the shape of the spec's exec-layout.json.
type Layout struct {
	SchemaHash string                  `json:"schema_hash"`
	EventTypes []LayoutEvent           `json:"event_types"`
	Structs    map[string]LayoutStruct `json:"structs"`
	Enums      map[string]LayoutEnum   `json:"enums"`
}

// LayoutEvent is one event type.
type LayoutEvent struct {
	Value int64  `json:"value"`
	Name  string `json:"name"`
}

// LayoutStruct is one struct or typedef'd payload.
type LayoutStruct struct {
	Size   int64         `json:"size"`
	Align  int64         `json:"align"`
	Fields []LayoutField `json:"fields"`
}

// LayoutField is one named member.
type LayoutField struct {
	Name   string `json:"name"`
	Offset int64  `json:"offset"`
	Size   int64  `json:"size"`
}

// LayoutEnum is one enum.
type LayoutEnum struct {
	Underlying string           `json:"underlying"`
	Values     map[string]int64 `json:"values"`
}

// Layout returns the layout view of the model.
func (m *Model) Layout() *Layout {
	l := &Layout{
		SchemaHash: hex.EncodeToString(m.SchemaHash[:]),
		EventTypes: []LayoutEvent{},
		Structs:    map[string]LayoutStruct{},
		Enums:      map[string]LayoutEnum{},
	}
	for _, e := range m.Events {
		l.EventTypes = append(l.EventTypes, LayoutEvent{Value: e.Value, Name: e.Name})
	}
	for name, s := range m.Structs {
		ls := LayoutStruct{Size: s.Size, Align: s.Align, Fields: []LayoutField{}}
		for _, f := range s.Fields {
			if f.Name == "" {
				continue // unnamed bit-fields are padding
			}
			ls.Fields = append(ls.Fields, LayoutField{Name: f.Name, Offset: f.Offset, Size: f.Size})
		}
		l.Structs[name] = ls
	}
	for name, e := range m.Enums {
		le := LayoutEnum{Underlying: e.Underlying, Values: map[string]int64{}}
		for _, v := range e.Values {
			le.Values[v.Name] = v.Value
		}
		l.Enums[name] = le
	}
	return l
}

// LayoutJSON returns the layout as indented JSON (map keys sorted).
func (m *Model) LayoutJSON() ([]byte, error) {
	b, err := json.MarshalIndent(m.Layout(), "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

package gen

import (
	"encoding/hex"
	"encoding/json"
)

// layoutDoc is the model in the shape of the spec's exec-layout.json.
type layoutDoc struct {
	SchemaHash string                  `json:"schema_hash"`
	EventTypes []layoutEvent           `json:"event_types"`
	Structs    map[string]layoutStruct `json:"structs"`
	Enums      map[string]layoutEnum   `json:"enums"`
}

// layoutEvent is one event type.
type layoutEvent struct {
	Value int64  `json:"value"`
	Name  string `json:"name"`
}

// layoutStruct is one struct or typedef'd payload.
type layoutStruct struct {
	Size   int64         `json:"size"`
	Align  int64         `json:"align"`
	Fields []layoutField `json:"fields"`
}

// layoutField is one named member.
type layoutField struct {
	Name   string `json:"name"`
	Offset int64  `json:"offset"`
	Size   int64  `json:"size"`
}

// layoutEnum is one enum.
type layoutEnum struct {
	Underlying string           `json:"underlying"`
	Values     map[string]int64 `json:"values"`
}

// layout returns the layout view of the model.
func (m *model) layout() *layoutDoc {
	l := &layoutDoc{
		SchemaHash: hex.EncodeToString(m.SchemaHash[:]),
		EventTypes: []layoutEvent{},
		Structs:    map[string]layoutStruct{},
		Enums:      map[string]layoutEnum{},
	}
	for _, e := range m.Events {
		l.EventTypes = append(l.EventTypes, layoutEvent{Value: e.Value, Name: e.Name})
	}
	for name, s := range m.Structs {
		ls := layoutStruct{Size: s.Size, Align: s.Align, Fields: []layoutField{}}
		for _, f := range s.Fields {
			if f.Name == "" {
				continue // unnamed bit-fields are padding
			}
			ls.Fields = append(ls.Fields, layoutField{Name: f.Name, Offset: f.Offset, Size: f.Size})
		}
		l.Structs[name] = ls
	}
	for name, e := range m.Enums {
		le := layoutEnum{Underlying: e.Underlying, Values: map[string]int64{}}
		for _, v := range e.Values {
			le.Values[v.Name] = v.Value
		}
		l.Enums[name] = le
	}
	return l
}

// layoutJSON returns the layout as indented JSON (map keys sorted).
func (m *model) layoutJSON() ([]byte, error) {
	b, err := json.MarshalIndent(m.layout(), "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

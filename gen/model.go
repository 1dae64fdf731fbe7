package gen

// model is the schema as the generator understands it, independent of both
// the C parser and the Go output: layouts, enums, the event table and the
// schema hash of one content type.
type model struct {
	// Structs are every named struct of the header tree (by tag, or by
	// typedef name for an anonymous struct) and every typedef'd event
	// payload, keyed by C name.
	Structs map[string]*cStruct
	// Enums are every named enum of the header tree, keyed by tag.
	Enums map[string]*cEnum
	// Events is the event table in code order.
	Events []eventDef
	// EventEnum is the tag of the event code enum (monad_exec_event_type).
	EventEnum string
	// ContentType is the content type enumerator suffix ("EXEC", "TEST")
	// derived from the event enum's name.
	ContentType string
	// SchemaHash is the 32-byte schema fingerprint, HasSchemaHash false if
	// the metadata defines none; SchemaHashSymbol names its array.
	SchemaHash       [32]byte
	HasSchemaHash    bool
	SchemaHashSymbol string
	// Constants are the integer constexpr objects, the constexpr strings
	// and the object-like macros defining integer or string constants of
	// the header tree, in declaration order.
	Constants []constant
	// Warnings are non-fatal findings (e.g. a trailing-array rule naming a
	// field the headers lack).
	Warnings []string
}

// cStruct is a C struct's layout.
type cStruct struct {
	Name  string // C name: tag or typedef name
	Size  int64  // sizeof, bytes
	Align int64  // alignof, bytes
	// Typedef is set for a typedef name: TypedefOf is the C spelling of the
	// target ("struct monad_exec_block_tag", "uint32_t") and Scalar is set
	// when the target is not a struct (Fields is then empty).
	Typedef   bool
	TypedefOf string
	Scalar    *cType
	// Anonymous is set for a typedef of an untagged struct.
	Anonymous bool
	File      string   // header file, relative to the root
	Fields    []cField // members in declaration order
}

// cField is one member of a struct; unnamed bit-fields are kept (Name "")
// because they occupy bytes.
type cField struct {
	Name    string
	Offset  int64 // byte offset (of the storage unit, for bit-fields)
	Size    int64 // bytes (of the storage unit, for bit-fields)
	Align   int64
	Alignas int64 // alignas(N) on the member, 0 if none
	Type    cType
	// Bit-field placement: width in bits and bit offset in the unit.
	BitField  bool
	Bits      int64
	BitOffset int64
}

// typeKind classifies a member type.
type typeKind int

// Member type kinds.
const (
	kindInt     typeKind = iota // integer (Signed tells the sign)
	kindBool                    // C bool
	kindChar                    // plain char
	kindUint128                 // __uint128_t
	kindEnum                    // Name is the enum tag
	kindStruct                  // Name is the struct tag or typedef name
	kindArray                   // Elem and Len
	kindPointer                 // not representable in payloads
	kindOther
)

// cType is a member type.
type cType struct {
	Kind   typeKind
	CType  string // C spelling, e.g. "uint64_t", "struct monad_exec_block_tag"
	Size   int64
	Align  int64
	Signed bool
	Name   string
	Elem   *cType
	Len    int64
}

// cEnum is a C enum with its underlying type.
type cEnum struct {
	Name       string
	Underlying string // "uint16_t" etc.
	Size       int64
	Signed     bool
	Values     []enumerator // in declaration order
	File       string
}

// enumerator is one enumerator of a cEnum: its name and value.
type enumerator struct {
	Name  string
	Value int64
}

// eventDef is one row of the event table.
type eventDef struct {
	Value       int64  // event code
	Name        string // metadata c_name, e.g. "BLOCK_START"
	CEnum       string // enumerator, e.g. "MONAD_EXEC_BLOCK_START"
	Description string // metadata description
	// Payload is the C name of the payload type, "" for an empty payload.
	Payload  string
	Size     int64           // fixed payload size, 0 for an empty payload
	Trailing []trailingArray // from trailingRules, in payload order
	// SizeRule lists the only payload sizes allowed, when set (RECORD_ERROR).
	SizeRule []int64
}

// constant is a named compile-time constant of the header tree.
type constant struct {
	Name  string // C identifier
	CType string // declared C type, e.g. "size_t" or "char[]"
	Int   bool   // an integer constant (Value); otherwise a string (String)
	Value int64
	// Unsigned is set for an unsigned constant: Value holds its bits
	// (uint64(Value) is the value).
	Unsigned bool
	String   string
	File     string // header file, relative to the root
	Line     int    // line of the declaration or #define
	// Macro is set for an object-like #define rather than a constexpr.
	Macro bool
}

// hasContentType reports whether the ring header's content type enum
// (monad_event_content_type) has an enumerator for m.ContentType.
func (m *model) hasContentType() bool {
	e := m.Enums["monad_event_content_type"]
	if e == nil {
		return false
	}
	for _, v := range e.Values {
		if v.Name == "MONAD_EVENT_CONTENT_TYPE_"+m.ContentType {
			return true
		}
	}
	return false
}

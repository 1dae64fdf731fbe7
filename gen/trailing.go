package gen

// trailingArray describes one variable-length array that follows an event's
// fixed payload struct (spec §8).
type trailingArray struct {
	// Name is the array's C-style name ("blob_versioned_hashes"); the Go
	// view field is its CamelCase form.
	Name string
	// LengthField is the dotted path of the payload member holding the
	// element count ("txn_header.data_length"); empty with Remainder.
	LengthField string
	// ElemSize is the element size in bytes: 1 (bytes) or 32 (bytes32).
	ElemSize int64
	// Remainder marks an array that takes whatever follows the fixed part.
	Remainder bool
}

// trailingRule lists the trailing arrays of one event, in payload order.
type trailingRule struct {
	Event  string // metadata c_name of the event
	Arrays []trailingArray
	// Sizes, when set, are the only payload sizes allowed.
	Sizes []int64
}

// trailingRules are the trailing-array rules of spec §8.2, which C cannot
// express: the payload is the fixed struct immediately followed by each
// array, in order, and its size must equal the sum exactly.
//
// Rules are keyed by event and field names so that older and newer headers
// still generate: a rule naming an event or field the headers lack is only
// a warning, and an event without a rule decodes as fixed-size.
var trailingRules = []trailingRule{
	{Event: "RECORD_ERROR", Sizes: []int64{16, 8192}, Arrays: []trailingArray{
		// Spec §5.6, §8.5: a truncated copy of the dropped event, not
		// decodable as an event.
		{Name: "truncated", ElemSize: 1, Remainder: true},
	}},
	{Event: "TXN_HEADER_START", Arrays: []trailingArray{
		{Name: "data", LengthField: "txn_header.data_length", ElemSize: 1},
		{Name: "blob_versioned_hashes", LengthField: "txn_header.blob_versioned_hash_length", ElemSize: 32},
	}},
	{Event: "TXN_ACCESS_LIST_ENTRY", Arrays: []trailingArray{
		{Name: "storage_keys", LengthField: "entry.storage_key_count", ElemSize: 32},
	}},
	{Event: "TXN_LOG", Arrays: []trailingArray{
		{Name: "topics", LengthField: "topic_count", ElemSize: 32},
		{Name: "data", LengthField: "data_length", ElemSize: 1},
	}},
	{Event: "TXN_CALL_FRAME", Arrays: []trailingArray{
		{Name: "input", LengthField: "input_length", ElemSize: 1},
		{Name: "return_data", LengthField: "return_length", ElemSize: 1},
	}},
}

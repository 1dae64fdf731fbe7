package main

import (
	"strings"

	"github.com/monadgo/events/execevents"
)

// eventName returns the schema name of an event code (BLOCK_START,
// TXN_LOG, ...), or EventType(N) for codes this schema does not define.
func eventName(code uint16) string {
	return execevents.EventType(code).String()
}

// eventTypeByName looks an event type up by its schema name, ignoring case
// and an optional MONAD_EXEC_ prefix.
func eventTypeByName(name string) (execevents.EventType, bool) {
	name = strings.TrimPrefix(strings.ToUpper(name), "MONAD_EXEC_")
	for i := range execevents.EventTypeCount {
		t := execevents.EventType(i)
		if t.String() == name {
			return t, true
		}
	}
	return 0, false
}

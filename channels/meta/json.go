package meta

import (
	"bytes"
	"encoding/json"
	"strconv"
	"time"
)

// Int is a JSON integer that Meta sometimes sends as a number and sometimes as a string
// (WhatsApp timestamps). Anything else decodes to 0 instead of failing the whole payload.
type Int int64

// UnmarshalJSON accepts 123, "123" and 1.23e9; other values give 0.
func (n *Int) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if json.Unmarshal(b, &s) != nil {
			*n = 0
			return nil
		}
		b = []byte(s)
	}
	if v, err := strconv.ParseInt(string(b), 10, 64); err == nil {
		*n = Int(v)
		return nil
	}
	if f, err := strconv.ParseFloat(string(b), 64); err == nil && f > -9e18 && f < 9e18 {
		*n = Int(f)
		return nil
	}
	*n = 0
	return nil
}

// ID is a Graph id: a JSON string, or a number that some payloads use for the same field.
type ID string

// UnmarshalJSON accepts "123" and 123; other values give "".
func (id *ID) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if json.Unmarshal(b, &s) != nil {
			*id = ""
			return nil
		}
		*id = ID(s)
		return nil
	}
	var num json.Number
	if json.Unmarshal(b, &num) == nil {
		*id = ID(num.String())
		return nil
	}
	*id = ""
	return nil
}

// Time converts a Meta timestamp (unix seconds or milliseconds) to a time; zero or
// implausible values give the zero time.
func Time(v int64) time.Time {
	switch {
	case v <= 0:
		return time.Time{}
	case v > 1e15: // microseconds or garbage
		return time.Time{}
	case v > 1e11: // milliseconds
		return time.UnixMilli(v).UTC()
	default:
		return time.Unix(v, 0).UTC()
	}
}

package pagetoken

import (
	"errors"
	"testing"
)

// FuzzDecode: a caller-supplied token is either one this codec issued for
// the query, or ErrInvalid; never a panic, never a negative position.
func FuzzDecode(f *testing.F) {
	c := New([]byte("fuzz-key"))
	good := c.Encode(Position{Offset: 50, Page: 2, Query: "customers|q|"})
	for _, s := range []string{good, good[:len(good)-1], good + "A", "", "AAAA", "!!!", "eyJvIjotMX0"} {
		f.Add(s, "customers|q|")
	}
	f.Fuzz(func(t *testing.T, tok, query string) {
		pos, err := c.Decode(tok, query)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Decode(%q) = %v, want ErrInvalid", tok, err)
			}
			return
		}
		if pos.Query != query || pos.Offset < 0 || pos.Page < 0 {
			t.Fatalf("Decode(%q) = %+v for query %q", tok, pos, query)
		}
		if again := c.Encode(pos); again == "" {
			t.Fatal("re-encoding failed")
		}
	})
}

package pagetoken

import "testing"

func TestRoundTripAndTampering(t *testing.T) {
	c := New([]byte("k"))
	tok := c.Encode(Position{Offset: 40, Query: "customers|a|"})
	pos, err := c.Decode(tok, "customers|a|")
	if err != nil || pos.Offset != 40 {
		t.Fatalf("round trip: %+v %v", pos, err)
	}
	if _, err := c.Decode(tok, "customers|b|"); err == nil {
		t.Error("token accepted for other filters")
	}
	if _, err := New([]byte("other")).Decode(tok, "customers|a|"); err == nil {
		t.Error("token accepted under another key")
	}
	b := []byte(tok)
	b[len(b)-1] ^= 1
	if _, err := c.Decode(string(b), "customers|a|"); err == nil {
		t.Error("tampered token accepted")
	}
	for _, junk := range []string{"", "!!!", "abc"} {
		if _, err := c.Decode(junk, ""); err == nil {
			t.Errorf("junk %q accepted", junk)
		}
	}
}

// Without a key the codec makes one up, says so, and its tokens die with
// it: another process (a restart) refuses them.
func TestWithoutAKeyTokensDieWithTheProcess(t *testing.T) {
	a, b := New(nil), New(nil)
	if !a.Ephemeral() || New([]byte("k")).Ephemeral() {
		t.Fatal("Ephemeral must say whether the key was made up")
	}
	tok := a.Encode(Position{Offset: 1, Query: "q"})
	if _, err := a.Decode(tok, "q"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Decode(tok, "q"); err == nil {
		t.Error("a token survived a restart without a key")
	}
}

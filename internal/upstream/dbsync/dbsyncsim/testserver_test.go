package dbsyncsim

import (
	"net/http/httptest"
	"testing"
)

// newTestServer starts a simulator on loopback for this package's tests
// (other packages use internal/upstream/simtest).
func newTestServer(tb testing.TB, opts Options) (*Server, string) {
	tb.Helper()
	s := New(opts)
	ts := httptest.NewServer(s)
	tb.Cleanup(ts.Close)
	return s, ts.URL + BasePath
}

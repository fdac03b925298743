// Package simtest starts the vendor simulators on loopback for tests. It
// is the only place that ties the simulators to package testing, so the
// gateway binary, which links the simulators for -dev, never links testing.
package simtest

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/partnerhub/gateway/internal/upstream/bokamera/bokamerasim"
	"github.com/partnerhub/gateway/internal/upstream/crayon/crayonsim"
	"github.com/partnerhub/gateway/internal/upstream/dbsync/dbsyncsim"
	"github.com/partnerhub/gateway/internal/upstream/gdap/gdapsim"
)

// Serve serves h on loopback until the test ends and returns its root URL
// (no trailing slash).
func Serve(tb testing.TB, h http.Handler) string {
	tb.Helper()
	ts := httptest.NewServer(h)
	tb.Cleanup(ts.Close)
	return ts.URL
}

// Crayon starts a Crayon simulator; the URL is the client's base URL.
func Crayon(tb testing.TB, opts crayonsim.Options) (*crayonsim.Server, string) {
	tb.Helper()
	s := crayonsim.New(opts)
	return s, Serve(tb, s) + "/"
}

// BokaMera starts a BokaMera simulator; the URL is the client's base URL
// and bokamerasim.TokenURL derives the token endpoint from it.
func BokaMera(tb testing.TB, opts bokamerasim.Options) (*bokamerasim.Server, string) {
	tb.Helper()
	s := bokamerasim.New(opts)
	return s, Serve(tb, s) + "/"
}

// GDAP starts a GDAP simulator; the URL is the client's base URL and
// gdapsim.TokenURL derives the token endpoint from it.
func GDAP(tb testing.TB, opts gdapsim.Options) (*gdapsim.Server, string) {
	tb.Helper()
	s := gdapsim.New(opts)
	return s, Serve(tb, s) + gdapsim.BasePath
}

// DBSync starts a DBSync simulator; the URL is the client's base URL.
func DBSync(tb testing.TB, opts dbsyncsim.Options) (*dbsyncsim.Server, string) {
	tb.Helper()
	s := dbsyncsim.New(opts)
	return s, Serve(tb, s) + dbsyncsim.BasePath
}

package upstream

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// A vendor sending an endless body costs the gateway MaxBodyBytes at most.
func TestVendorBodyReadsAreBounded(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		chunk := []byte(strings.Repeat("x", 64<<10))
		for range (MaxBodyBytes + 4<<20) / len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	t.Cleanup(srv.Close)
	c, _ := newTestClient(t, Config{})
	req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
	var read int64
	err := c.Do(t.Context(), Call{Op: "probe", Request: req, Idempotent: true, Handle: func(resp *http.Response) error {
		var err error
		read, err = io.Copy(io.Discard, resp.Body)
		return err
	}})
	if err != nil {
		t.Fatal(err)
	}
	if read != MaxBodyBytes {
		t.Fatalf("read %d bytes of an oversized body, want the %d cap", read, MaxBodyBytes)
	}
}

func TestVendorHeadersAreBounded(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Huge", strings.Repeat("h", MaxHeaderBytes+1))
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(srv.Close)
	c, _ := newTestClient(t, Config{MaxAttempts: 1})
	err := get(t.Context(), c, srv.URL)
	var e *Error
	if !errors.As(err, &e) || e.Status != 0 {
		t.Fatalf("oversized response headers accepted: %v", err)
	}
}

// Sequential calls, failed ones included, share one kept-alive connection.
func TestVendorConnectionsAreReused(t *testing.T) {
	var conns atomic.Int32
	var calls atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1)%2 == 0 {
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"message":"no such thing"}`)
			return
		}
		_, _ = io.WriteString(w, `{"ok":true}`)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	c, _ := newTestClient(t, Config{})
	for range 6 {
		_ = get(t.Context(), c, srv.URL)
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("6 sequential calls opened %d connections, want 1", n)
	}
}

// Package simfault injects faults into the vendor simulators at run time:
// latency, jitter, error statuses with the vendor's own error body, 429 with
// Retry-After, connection resets, hangs, malformed JSON, slow-drip bodies, and
// failure of only every Nth call. Tests set faults directly; -dev exposes the
// same control at /_sim/faults on each simulator.
package simfault

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// AdminPath is where every simulator serves its fault control.
const AdminPath = "/_sim/faults"

// Fault describes what to do to matching requests. The zero Fault does nothing.
type Fault struct {
	LatencyMS int `json:"latency_ms,omitempty"`
	JitterMS  int `json:"jitter_ms,omitempty"`
	// Status answers with this status and the vendor's own error body.
	Status int `json:"status,omitempty"`
	// RetryAfterSeconds is sent as Retry-After with Status (use 429 or 503).
	RetryAfterSeconds int  `json:"retry_after_seconds,omitempty"`
	Reset             bool `json:"reset,omitempty"`     // close the TCP connection abruptly
	Hang              bool `json:"hang,omitempty"`      // never answer; wait for the client to give up
	Malformed         bool `json:"malformed,omitempty"` // 200 with a body that is not JSON
	// SlowDripMS writes the real body one small chunk per interval.
	SlowDripMS int `json:"slow_drip_ms,omitempty"`
	// EveryNth applies the fault to every Nth matching call only (flapping);
	// 0 or 1 means every call.
	EveryNth int `json:"every_nth,omitempty"`
	// PathContains limits the fault to request paths containing it.
	PathContains string `json:"path_contains,omitempty"`
}

// ErrorBody renders the vendor's own error body for a status.
type ErrorBody func(status int) (contentType string, body []byte)

// Injector applies the current Fault to requests and counts calls.
type Injector struct {
	errorBody ErrorBody
	shaper    shaper

	mu      sync.Mutex
	fault   Fault
	matched int
	calls   map[string]int
}

// New returns an Injector that renders error statuses with errorBody.
func New(errorBody ErrorBody) *Injector {
	return &Injector{errorBody: errorBody, calls: map[string]int{}}
}

// Set replaces the current fault.
func (in *Injector) Set(f Fault) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.fault, in.matched = f, 0
}

// Clear removes any fault.
func (in *Injector) Clear() { in.Set(Fault{}) }

// Calls reports how many requests arrived for "METHOD /path" (the path as
// received, without the query), faulted or not.
func (in *Injector) Calls(method, path string) int {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.calls[method+" "+path]
}

// TotalCalls reports all requests that reached the simulator.
func (in *Injector) TotalCalls() int {
	in.mu.Lock()
	defer in.mu.Unlock()
	n := 0
	for _, c := range in.calls {
		n += c
	}
	return n
}

func (in *Injector) next(r *http.Request) (Fault, bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.calls[r.Method+" "+r.URL.Path]++
	f := in.fault
	if f == (Fault{}) || (f.PathContains != "" && !strings.Contains(r.URL.Path, f.PathContains)) {
		return Fault{}, false
	}
	in.matched++
	if f.EveryNth > 1 && in.matched%f.EveryNth != 0 {
		return Fault{}, false
	}
	return f, true
}

// Middleware wraps a simulator's handler; the admin paths are never
// faulted. Answers the handler writes get the current Shape; injected
// error statuses are the vendor's own error bodies, shaped only for 401.
func (in *Injector) Middleware(next http.Handler) http.Handler {
	next = in.shaped(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case AdminPath:
			in.serveAdmin(w, r)
			return
		case ShapePath:
			in.serveShape(w, r)
			return
		}
		f, ok := in.next(r)
		if !ok {
			next.ServeHTTP(w, r)
			return
		}
		// Read the body up front: net/http notices a client hanging up (and
		// cancels r.Context()) only once the request body has been consumed,
		// and a hang or a delay must end when the client gives up.
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		if d := time.Duration(f.LatencyMS) * time.Millisecond; d > 0 || f.JitterMS > 0 {
			if f.JitterMS > 0 {
				d += time.Duration(rand.IntN(f.JitterMS+1)) * time.Millisecond
			}
			select {
			case <-time.After(d):
			case <-r.Context().Done():
				return
			}
		}
		switch {
		case f.Hang:
			<-r.Context().Done()
		case f.Reset:
			reset(w)
		case f.Status != 0:
			ct, body := in.errorBody(f.Status)
			if f.Status == http.StatusUnauthorized {
				switch in.currentShape().Unauthorized {
				case "empty":
					ct, body = "", nil
				case "null":
					ct, body = "application/json", []byte("null")
				}
			}
			if f.RetryAfterSeconds > 0 {
				w.Header().Set("Retry-After", fmt.Sprint(f.RetryAfterSeconds))
			}
			if ct != "" {
				w.Header().Set("Content-Type", ct)
			}
			w.WriteHeader(f.Status)
			_, _ = w.Write(body)
		case f.Malformed:
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"Items": [ {"Id": 1, "Name": "trunc`))
		case f.SlowDripMS > 0:
			next.ServeHTTP(&dripWriter{ResponseWriter: w, every: time.Duration(f.SlowDripMS) * time.Millisecond, done: r.Context().Done()}, r)
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// reset closes the connection with SO_LINGER 0 so the client sees a reset.
func reset(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

type dripWriter struct {
	http.ResponseWriter
	every time.Duration
	done  <-chan struct{}
}

func (d *dripWriter) Write(p []byte) (int, error) {
	const chunk = 16
	n := 0
	for len(p) > 0 {
		k := min(chunk, len(p))
		m, err := d.ResponseWriter.Write(p[:k])
		n += m
		if err != nil {
			return n, err
		}
		if f, ok := d.ResponseWriter.(http.Flusher); ok {
			f.Flush()
		}
		p = p[k:]
		select {
		case <-time.After(d.every):
		case <-d.done:
			return n, http.ErrAbortHandler
		}
	}
	return n, nil
}

func (in *Injector) serveAdmin(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
	case http.MethodPut, http.MethodPost:
		var f Fault
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&f); err != nil {
			http.Error(w, "bad fault: "+err.Error(), http.StatusBadRequest)
			return
		}
		in.Set(f)
	case http.MethodDelete:
		in.Clear()
	default:
		w.Header().Set("Allow", "GET, PUT, POST, DELETE")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	in.mu.Lock()
	f := in.fault
	in.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(f)
}

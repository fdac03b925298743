package simfault

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
)

// ShapePath is where every simulator serves its wire-shape control.
const ShapePath = "/_sim/shape"

// Shape plays variations a real vendor may show where its contract is
// silent or vague, on every simulator alike. The zero Shape changes
// nothing.
type Shape struct {
	// UnknownFields adds members the client has never heard of to every
	// object of a successful JSON answer.
	UnknownFields bool `json:"unknown_fields,omitempty"`
	// UpperGUIDs upper-cases every GUID string in successful JSON answers.
	UpperGUIDs bool `json:"upper_guids,omitempty"`
	// Reorder writes every object's members in reverse order.
	Reorder bool `json:"reorder,omitempty"`
	// Unauthorized replaces the body of every 401: "empty" (no body) or
	// "null" (the JSON literal, as GDAP documents).
	Unauthorized string `json:"unauthorized,omitempty"`
}

// shaper holds an Injector's current Shape.
type shaper struct {
	mu    sync.Mutex
	shape Shape
}

// SetShape replaces the wire-shape variation.
func (in *Injector) SetShape(s Shape) {
	in.shaper.mu.Lock()
	defer in.shaper.mu.Unlock()
	in.shaper.shape = s
}

func (in *Injector) currentShape() Shape {
	in.shaper.mu.Lock()
	defer in.shaper.mu.Unlock()
	return in.shaper.shape
}

// shaped applies the current Shape to next's answers.
func (in *Injector) shaped(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sh := in.currentShape()
		if sh == (Shape{}) {
			next.ServeHTTP(w, r)
			return
		}
		rec := &bufferedWriter{header: http.Header{}, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		body := rec.body.Bytes()
		switch {
		case rec.status == http.StatusUnauthorized && sh.Unauthorized == "empty":
			body = nil
			rec.header.Del("Content-Type")
		case rec.status == http.StatusUnauthorized && sh.Unauthorized == "null":
			body = []byte("null")
			rec.header.Set("Content-Type", "application/json")
		case rec.status/100 == 2 && strings.Contains(rec.header.Get("Content-Type"), "json"):
			if out, err := reshape(body, sh); err == nil {
				body = out
			}
		}
		for k, v := range rec.header {
			w.Header()[k] = v
		}
		w.Header().Del("Content-Length")
		w.WriteHeader(rec.status)
		_, _ = w.Write(body)
	})
}

type bufferedWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
	wrote  bool
}

func (b *bufferedWriter) Header() http.Header { return b.header }
func (b *bufferedWriter) WriteHeader(s int) {
	if !b.wrote {
		b.status, b.wrote = s, true
	}
}
func (b *bufferedWriter) Write(p []byte) (int, error) {
	b.wrote = true
	return b.body.Write(p)
}

var guidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// reshape rewrites one JSON document token by token, keeping member order
// (so Reorder is a real reversal, not Go's map order).
func reshape(doc []byte, sh Shape) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	v, err := readOrdered(dec)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	writeOrdered(&out, v, sh)
	out.WriteByte('\n')
	return out.Bytes(), nil
}

type member struct {
	key string
	val any
}

type object []member

func readOrdered(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			var o object
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					return nil, err
				}
				key, ok := k.(string)
				if !ok {
					return nil, errors.New("object key is not a string")
				}
				v, err := readOrdered(dec)
				if err != nil {
					return nil, err
				}
				o = append(o, member{key, v})
			}
			_, err := dec.Token()
			return o, err
		case '[':
			a := []any{}
			for dec.More() {
				v, err := readOrdered(dec)
				if err != nil {
					return nil, err
				}
				a = append(a, v)
			}
			_, err := dec.Token()
			return a, err
		}
		return nil, errors.New("unexpected delimiter")
	default:
		return tok, nil
	}
}

func writeOrdered(w io.Writer, v any, sh Shape) {
	switch x := v.(type) {
	case object:
		members := x
		if sh.UnknownFields {
			// Rendered as is: the injected object gets no members of its own.
			extra, _ := json.Marshal(map[string]any{"Nested": []any{1, true}})
			members = append(object{{"SimUnknownField", "ignore me"}, {"simUnknownObject", json.RawMessage(extra)}}, members...)
		}
		_, _ = io.WriteString(w, "{")
		for i := range members {
			m := members[i]
			if sh.Reorder {
				m = members[len(members)-1-i]
			}
			if i > 0 {
				_, _ = io.WriteString(w, ",")
			}
			k, _ := json.Marshal(m.key)
			_, _ = w.Write(k)
			_, _ = io.WriteString(w, ":")
			writeOrdered(w, m.val, sh)
		}
		_, _ = io.WriteString(w, "}")
	case []any:
		_, _ = io.WriteString(w, "[")
		for i, e := range x {
			if i > 0 {
				_, _ = io.WriteString(w, ",")
			}
			writeOrdered(w, e, sh)
		}
		_, _ = io.WriteString(w, "]")
	case string:
		if sh.UpperGUIDs && guidRE.MatchString(x) {
			x = strings.ToUpper(x)
		}
		b, _ := json.Marshal(x)
		_, _ = w.Write(b)
	default:
		b, _ := json.Marshal(x)
		_, _ = w.Write(b)
	}
}

func (in *Injector) serveShape(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
	case http.MethodPut, http.MethodPost:
		var s Shape
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&s); err != nil || (s.Unauthorized != "" && s.Unauthorized != "empty" && s.Unauthorized != "null") {
			http.Error(w, "bad shape: want unknown_fields, upper_guids, reorder (booleans) and unauthorized (\"empty\" or \"null\")", http.StatusBadRequest)
			return
		}
		in.SetShape(s)
	case http.MethodDelete:
		in.SetShape(Shape{})
	default:
		w.Header().Set("Allow", "GET, PUT, POST, DELETE")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(in.currentShape())
}

package middleware

import (
	"compress/gzip"
	"net/http"
	"strings"
	"sync"
)

// CompressMinBytes is the smallest body worth compressing: below it gzip's
// framing and CPU cost more than the bytes saved.
const CompressMinBytes = 1400

// Conditional answers a GET whose If-None-Match matches the answer's ETag
// with 304 and no body, and gzips a large answer (Content-Length at least
// CompressMinBytes) for a caller that accepts gzip. Handlers set ETag and
// Content-Length; an answer without them passes through untouched.
func Conditional(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inm := r.Header.Get("If-None-Match")
		gz := acceptsGzip(r.Header.Get("Accept-Encoding"))
		if inm == "" && !gz {
			next.ServeHTTP(w, r) // the common API client: no wrapper, no cost
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			inm = ""
		}
		cw := &conditionalWriter{ResponseWriter: w, ifNoneMatch: inm, gzip: gz}
		defer cw.close()
		next.ServeHTTP(cw, r)
	})
}

type conditionalWriter struct {
	http.ResponseWriter
	ifNoneMatch string
	gzip        bool

	wroteHeader bool
	discard     bool // 304: the body is not sent
	gz          *gzip.Writer
}

var gzipWriters = sync.Pool{New: func() any {
	w, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed) // the level is valid
	return w
}}

func (cw *conditionalWriter) WriteHeader(code int) {
	if cw.wroteHeader {
		return
	}
	cw.wroteHeader = true
	h := cw.Header()
	switch {
	case code == http.StatusOK && cw.ifNoneMatch != "" && etagMatches(cw.ifNoneMatch, h.Get("ETag")):
		cw.discard = true
		h.Del("Content-Length")
		h.Del("Content-Type")
		code = http.StatusNotModified
	case code == http.StatusOK && cw.gzip && h.Get("Content-Encoding") == "" && largeBody(h.Get("Content-Length")):
		h.Del("Content-Length")
		h.Set("Content-Encoding", "gzip")
		cw.gz = gzipWriters.Get().(*gzip.Writer)
		cw.gz.Reset(cw.ResponseWriter)
	}
	cw.ResponseWriter.WriteHeader(code)
}

func (cw *conditionalWriter) Write(b []byte) (int, error) {
	if !cw.wroteHeader {
		cw.WriteHeader(http.StatusOK)
	}
	switch {
	case cw.discard:
		return len(b), nil
	case cw.gz != nil:
		return cw.gz.Write(b)
	}
	return cw.ResponseWriter.Write(b)
}

func (cw *conditionalWriter) close() {
	if cw.gz != nil {
		_ = cw.gz.Close()
		cw.gz.Reset(nil)
		gzipWriters.Put(cw.gz)
		cw.gz = nil
	}
}

// Unwrap lets http.ResponseController reach Flush and deadlines.
func (cw *conditionalWriter) Unwrap() http.ResponseWriter { return cw.ResponseWriter }

func largeBody(contentLength string) bool {
	n := 0
	for _, c := range contentLength {
		if c < '0' || c > '9' || n > CompressMinBytes {
			break
		}
		n = n*10 + int(c-'0')
	}
	return contentLength != "" && n >= CompressMinBytes
}

// acceptsGzip reads Accept-Encoding: gzip listed without q=0.
func acceptsGzip(h string) bool {
	for part := range strings.SplitSeq(h, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(coding), "gzip") {
			continue
		}
		q := strings.ReplaceAll(params, " ", "")
		return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
	}
	return false
}

// etagMatches is If-None-Match's weak comparison: "*" or any listed tag
// equal to etag, ignoring the W/ prefix.
func etagMatches(header, etag string) bool {
	if etag == "" {
		return false
	}
	etag = strings.TrimPrefix(etag, "W/")
	for tag := range strings.SplitSeq(header, ",") {
		tag = strings.TrimSpace(tag)
		if tag == "*" || strings.TrimPrefix(tag, "W/") == etag {
			return true
		}
	}
	return false
}

package upstream

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestTokenSourceSharesOneFetchAndRenewsEarly(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var logins atomic.Int32
	release := make(chan struct{})
	ts := &TokenSource{Vendor: "v", MaxMargin: 30 * time.Second, Now: func() time.Time { return now },
		Login: func(context.Context) (Grant, error) {
			n := logins.Add(1)
			<-release
			return Grant{Access: fmt.Sprint("tok", n), TTL: 100 * time.Second}, nil
		}}
	var wg sync.WaitGroup
	toks := make([]string, 8)
	for i := range toks {
		wg.Go(func() { toks[i], _ = ts.Token(context.Background()) })
	}
	time.Sleep(20 * time.Millisecond) // let the callers queue behind the fetch
	close(release)
	wg.Wait()
	for _, tok := range toks {
		if tok != "tok1" {
			t.Fatalf("tokens %v, want all tok1 from one login", toks)
		}
	}
	now = now.Add(89 * time.Second) // 10 % margin: due at 90 s
	if tok, _ := ts.Token(context.Background()); tok != "tok1" || logins.Load() != 1 {
		t.Fatalf("token %s after 89 s, %d logins", tok, logins.Load())
	}
	now = now.Add(2 * time.Second)
	if tok, _ := ts.Token(context.Background()); tok != "tok2" {
		t.Fatalf("token %s after 91 s, want a renewed one", tok)
	}
}

func TestAuthorizedRetriesOnceAfter401Only(t *testing.T) {
	var logins atomic.Int32
	ts := &TokenSource{Vendor: "v", MaxMargin: time.Minute, Login: func(context.Context) (Grant, error) {
		return Grant{Access: fmt.Sprint("tok", logins.Add(1)), TTL: time.Hour}, nil
	}}
	var seen []string
	call := func(status int) func(string) error {
		return func(tok string) error {
			seen = append(seen, tok)
			if status == 0 {
				return nil
			}
			return &Error{Vendor: "v", Status: status, Err: ErrCredentials}
		}
	}
	if err := ts.Authorized(context.Background(), call(401)); !errors.Is(err, ErrCredentials) {
		t.Fatalf("persistent 401: %v", err)
	}
	if fmt.Sprint(seen) != "[tok1 tok2]" {
		t.Fatalf("tokens sent %v, want the cached one, then one fresh retry", seen)
	}
	seen = nil
	if err := ts.Authorized(context.Background(), call(http.StatusForbidden)); err == nil || fmt.Sprint(seen) != "[tok2]" {
		t.Fatalf("403: %v, sent %v; want no retry", err, seen)
	}
	var nilSource *TokenSource
	if err := nilSource.Authorized(context.Background(), func(tok string) error {
		if tok != "" {
			return errors.New("a token without a source")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

package handlers

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/partnerhub/gateway/internal/aggregate"
	"github.com/partnerhub/gateway/internal/pagetoken"
	"github.com/partnerhub/gateway/internal/problem"
)

// listAnswer is the envelope of every list answer: the items, the next
// (and previous) page's token, how many items match over all pages when
// that is known (AIP-158 total_size) and the vendor calls behind them.
type listAnswer[T any] struct {
	Items             []T                `json:"items"`
	NextPageToken     string             `json:"next_page_token,omitempty"`
	PreviousPageToken string             `json:"previous_page_token,omitempty"`
	TotalSize         *int               `json:"total_size,omitempty"`
	Sources           []aggregate.Source `json:"sources"`
	Complete          bool               `json:"complete"`
}

// total is a known total_size.
func total(n int) *int { return &n }

// pageLinks is what a list answer says beside its items: the tokens of the
// pages around it and the total, when known (nil).
type pageLinks struct {
	Next, Previous string
	Total          *int
}

// newList never answers "items": null.
func newList[T any](items []T, sources []aggregate.Source, complete bool) listAnswer[T] {
	if items == nil {
		items = []T{}
	}
	return listAnswer[T]{Items: items, Sources: sources, Complete: complete}
}

// wholeList is a list answered whole (one page, no paging): its total is
// its length.
func wholeList[T any](items []T, sources []aggregate.Source, complete bool) listAnswer[T] {
	l := newList(items, sources, complete)
	l.TotalSize = total(len(l.Items))
	return l
}

// oneSource is the provenance of an answer read from one vendor call that
// succeeded.
func oneSource(src aggregate.Source) []aggregate.Source { return []aggregate.Source{src} }

// sourced is one resource with the vendor calls behind it: the resource's
// own members followed by "sources" and "complete" (what embedding the
// resource would give, for any resource type).
type sourced[T any] struct {
	Item     T
	Sources  []aggregate.Source
	Complete bool
}

func withSources[T any](item T, sources []aggregate.Source, complete bool) sourced[T] {
	return sourced[T]{Item: item, Sources: sources, Complete: complete}
}

func (s sourced[T]) MarshalJSON() ([]byte, error) {
	item, err := json.Marshal(s.Item)
	if err != nil {
		return nil, err
	}
	tail, err := json.Marshal(struct {
		Sources  []aggregate.Source `json:"sources"`
		Complete bool               `json:"complete"`
	}{s.Sources, s.Complete})
	if err != nil {
		return nil, err
	}
	item = bytes.TrimSpace(item)
	if len(item) < 2 || item[0] != '{' {
		return nil, fmt.Errorf("%T is not a JSON object; only objects carry sources", s.Item)
	}
	if bytes.Equal(item, []byte("{}")) {
		return tail, nil
	}
	return append(append(item[:len(item)-1:len(item)-1], ','), tail[1:]...), nil
}

// badPageTokenMsg is what every list says of a token it cannot use.
const badPageTokenMsg = "is not a token this gateway issued for these filters; start again without it"

// pager reads and writes one list's page tokens. The fingerprint names the
// filters (and page size) a token is good for.
type pager struct {
	tokens      *pagetoken.Codec
	fingerprint string
}

// read decodes query.page_token. A token that does not decode for these
// filters, or that valid rejects, is reported on q; absent or rejected, the
// position is the zero one (the first page).
func (p pager) read(q *query, valid func(pagetoken.Position) bool) pagetoken.Position {
	tok := q.values.Get("page_token")
	if tok == "" {
		return pagetoken.Position{}
	}
	pos, err := p.tokens.Decode(tok, p.fingerprint)
	if err != nil || (valid != nil && !valid(pos)) {
		msg := badPageTokenMsg
		if p.tokens.Ephemeral() {
			msg += " (this gateway runs without GATEWAY_PAGE_TOKEN_KEY, so its page tokens do not survive a restart and are not accepted by another replica)"
		}
		q.fail("page_token", problem.CodeInvalidPageToken, msg)
		return pagetoken.Position{}
	}
	return pos
}

// next is the token of the page at pos.
func (p pager) next(pos pagetoken.Position) string {
	pos.Query = p.fingerprint
	return p.tokens.Encode(pos)
}

// pageTokenStale is the 400 for a token that decoded but no longer points
// anywhere.
func pageTokenStale(detail, msg string) error {
	return problem.BadRequest(detail, problem.FieldError{Location: "query.page_token", Code: problem.CodeExpiredPageToken, Message: msg})
}

// decodeValid is every write's input: the strict body decoder, then every
// remaining mistake reported at once, in the order path, query, body
// (earlier holds what was found before the body, such as a bad path
// parameter; validate checks the decoded body).
func decodeValid[T any](w http.ResponseWriter, r *http.Request, validate func(*T) error, earlier ...error) (T, error) {
	var v T
	derr := decodeJSON(w, r, &v)
	if !wellFormed(derr) {
		return v, derr
	}
	var verr error
	if validate != nil {
		verr = notUnder(validate(&v), derr)
	}
	return v, joinBadRequests(append(earlier, newQuery(r).err(), derr, verr)...)
}

package upstream

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// ErrIncomplete: a listing could not be walked to its end (the vendor's
// pages ran dry before its own total, or paging did not end within the page
// limit). What was read is not returned: a partial list must never pass for
// a whole one.
var ErrIncomplete = errorString("vendor listing incomplete")

// errorString is a comparable error usable as a sentinel.
type errorString string

func (e errorString) Error() string { return string(e) }

// Page is one page of a listing as the vendor answered it.
type Page[T any] struct {
	Items []T
	// Total is the vendor's count of all matches; HasTotal is false when the
	// vendor sent none.
	Total    int64
	HasTotal bool
	// Whole says the answer is the entire list whatever was asked (a
	// vendor answering a bare array, say).
	Whole bool
}

// Pager walks an offset-addressed listing to its end. It trusts what the
// vendor returned over what was asked: the number of items the first page
// actually held becomes the stride, so a vendor that caps the page size is
// still read completely. Records are de-duplicated by ID, since rows shift
// between pages while the vendor's data changes, and the latest total
// counts. docs/vendors.md describes the rules.
type Pager[T any] struct {
	Vendor, Op string
	// Fetch reads size records starting at offset. After the first page,
	// offset is always a multiple of size, so page-numbered APIs can
	// address it as page offset/size+1.
	Fetch func(ctx context.Context, offset, size int) (Page[T], error)
	// ID identifies a record for de-duplication; "" is never a duplicate.
	ID func(T) string
	// Size is the page size asked for first; MaxPages bounds the walk;
	// Parallel bounds concurrent page reads once the total is known.
	Size, MaxPages, Parallel int
}

// All returns every record, or an *Error: the first failed page's, or
// ErrIncomplete when the walk could not be completed.
func (p Pager[T]) All(ctx context.Context) ([]T, error) {
	maxPages, par := max(p.MaxPages, 1), max(p.Parallel, 1)
	first, err := p.Fetch(ctx, 0, p.Size)
	if err != nil {
		return nil, err
	}
	w := walk[T]{id: p.ID, seen: map[string]bool{}}
	w.add(first)
	if first.Whole || len(first.Items) == 0 && (!first.HasTotal || first.Total == 0) {
		return w.out, nil
	}
	stride := len(first.Items)
	if stride == 0 {
		return nil, p.incomplete("the vendor reported %d records but its first page was empty", first.Total)
	}
	pages, next := 1, stride
	for {
		total, known := w.total, w.hasTotal
		if known && int64(len(w.out)) >= total {
			return w.out, nil
		}
		if w.ranDry {
			if !known {
				return w.out, nil // no total: a short or empty page is the end
			}
			return nil, p.incomplete("the vendor reported %d records but its pages ran dry after %d", total, len(w.out))
		}
		// Plan the pages up to the total (or one page when the total is
		// unknown or already passed because of duplicates).
		n := 1
		if known && int64(next) < total {
			n = int((total - int64(next) + int64(stride) - 1) / int64(stride))
		}
		if pages+n > maxPages {
			return nil, p.incomplete("the listing needs more than %d pages", maxPages)
		}
		batch, err := p.fetchAll(ctx, next, stride, n, par)
		if err != nil {
			return nil, err
		}
		for _, pg := range batch {
			w.add(pg)
			if len(pg.Items) < stride {
				w.ranDry = true
			}
		}
		pages += n
		next += n * stride
	}
}

func (p Pager[T]) incomplete(format string, args ...any) error {
	return &Error{Vendor: p.Vendor, Op: p.Op, Message: fmt.Sprintf(format, args...), Err: ErrIncomplete}
}

// fetchAll reads n pages from offset on, at most par at a time, and
// returns them in order; the first failure cancels the rest.
func (p Pager[T]) fetchAll(ctx context.Context, offset, stride, n, par int) ([]Page[T], error) {
	if n == 1 {
		pg, err := p.Fetch(ctx, offset, stride)
		return []Page[T]{pg}, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	out := make([]Page[T], n)
	errs := make([]error, n)
	sem := make(chan struct{}, par)
	var wg sync.WaitGroup
	for i := range n {
		sem <- struct{}{}
		if ctx.Err() != nil {
			<-sem
			break
		}
		wg.Go(func() {
			defer func() { <-sem }()
			out[i], errs[i] = p.Fetch(ctx, offset+i*stride, stride)
			if errs[i] != nil {
				cancel()
			}
		})
	}
	wg.Wait()
	// A failure is the cause; the others may be the cancellation it
	// triggered.
	var first error
	for _, err := range errs {
		if err != nil && !errors.Is(err, context.Canceled) {
			return nil, err
		}
		if first == nil {
			first = err
		}
	}
	if first != nil {
		return nil, first
	}
	if err := ctx.Err(); err != nil { // the caller left before every page was asked for
		return nil, &Error{Vendor: p.Vendor, Op: p.Op, Err: err}
	}
	return out, nil
}

// walk accumulates de-duplicated records and the latest total.
type walk[T any] struct {
	id       func(T) string
	seen     map[string]bool
	out      []T
	total    int64
	hasTotal bool
	ranDry   bool
}

func (w *walk[T]) add(pg Page[T]) {
	if pg.HasTotal {
		w.total, w.hasTotal = pg.Total, true
	}
	for _, it := range pg.Items {
		if id := w.id(it); id != "" {
			if w.seen[id] {
				continue
			}
			w.seen[id] = true
		}
		w.out = append(w.out, it)
	}
}

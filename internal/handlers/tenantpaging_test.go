package handlers

import "testing"

func TestNextVendorPageCountsWhatTheVendorReturned(t *testing.T) {
	for _, tc := range []struct {
		page, size, got int
		total           int64
		next, nextSize  int
		ok              bool
	}{
		{page: 1, size: 50, got: 50, total: 140, next: 2, nextSize: 50, ok: true},
		{page: 3, size: 50, got: 40, total: 140},                                // the end
		{page: 1, size: 50, got: 0, total: 7},                                   // an empty page ends the walk
		{page: 1, size: 50, got: 3, total: 7, next: 2, nextSize: 3, ok: true},   // capped at 3
		{page: 2, size: 3, got: 3, total: 7, next: 3, nextSize: 3, ok: true},    // still capped
		{page: 1, size: 50, got: 4, total: 9, next: 2, nextSize: 4, ok: true},   // offset 4
		{page: 2, size: 4, got: 2, total: 9, next: 4, nextSize: 2, ok: true},    // cap shrank: offset 6 in pages of 2
		{page: 1, size: 10, got: 25, total: 30, next: 6, nextSize: 5, ok: true}, // more than asked: offset 25 in pages of gcd(25, 10)
	} {
		next, size, ok := nextVendorPage(tc.page, tc.size, tc.got, tc.total)
		if ok != tc.ok || ok && (next != tc.next || size != tc.nextSize) {
			t.Errorf("page %d of %d returned %d of %d: next %d size %d ok %v; want %d %d %v",
				tc.page, tc.size, tc.got, tc.total, next, size, ok, tc.next, tc.nextSize, tc.ok)
		}
	}
}

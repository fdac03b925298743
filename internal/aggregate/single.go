package aggregate

import "context"

// One calls a single vendor under the vendor budget and reports it as a
// source, for answers served by one vendor (licenses, roles, agreements).
func One[T any](ctx context.Context, vendor string, fn func(context.Context) (T, error)) (T, Source, error) {
	ctx, cancel := vendorContext(ctx)
	defer cancel()
	return timed(ctx, vendor, Live(fn))
}

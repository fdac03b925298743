package handlers

import (
	"context"
	"net/http"

	"github.com/partnerhub/gateway/internal/aggregate"
	"github.com/partnerhub/gateway/internal/model"
)

// handleListRoles serves GET /v1/roles (operationId listRoles): the Entra
// roles GDAP can delegate.
func handleListRoles(roles func(context.Context) ([]model.Role, error)) http.Handler {
	return handle(func(w http.ResponseWriter, r *http.Request) error {
		if err := newQuery(r).err(); err != nil {
			return err
		}
		items, src, err := aggregate.One(r.Context(), model.VendorGDAP, roles)
		if err != nil {
			return err
		}
		return respond(w, http.StatusOK, wholeList(items, oneSource(src), true))
	})
}

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
	type response struct {
		Items    []model.Role       `json:"items"`
		Sources  []aggregate.Source `json:"sources"`
		Complete bool               `json:"complete"`
	}
	return handle(func(w http.ResponseWriter, r *http.Request) error {
		if err := newQuery(r).err(); err != nil {
			return err
		}
		items, src, err := aggregate.One(r.Context(), model.VendorGDAP, roles)
		if err != nil {
			return err
		}
		if items == nil {
			items = []model.Role{}
		}
		return respond(w, http.StatusOK, response{Items: items, Sources: []aggregate.Source{src}, Complete: true})
	})
}

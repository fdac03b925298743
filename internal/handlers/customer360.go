package handlers

import (
	"errors"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/partnerhub/gateway/internal/aggregate"
	"github.com/partnerhub/gateway/internal/problem"
)

// handleGetCustomer serves GET /v1/customers/{id} (operationId getCustomer):
// the customer 360 view, one section per vendor, each with its own status.
func handleGetCustomer(svc *aggregate.CustomerViews) http.Handler {
	return handle(func(w http.ResponseWriter, r *http.Request) error {
		key, ok := aggregate.ParseCustomerID(chi.URLParam(r, "id"))
		var idErr error
		if !ok {
			idErr = problem.BadRequest("the customer id is not valid", problem.FieldError{Location: "path.id",
				Message: "must be a customer id as GET /v1/customers lists them: ms-<Microsoft tenant id>, crayon-<tenant id> or bokamera-<customer id>"})
		}
		if err := joinBadRequests(idErr, newQuery(r).err()); err != nil {
			return err
		}
		view, err := svc.Get(r.Context(), key)
		var nf *aggregate.CustomerNotFoundError
		switch {
		case errors.As(err, &nf) && nf.CanonicalID != "":
			p := problem.NotFound("no customer has this id; the record it names belongs to customer " + nf.CanonicalID)
			p.Err = err
			return p
		case errors.As(err, &nf):
			p := problem.NotFound("no vendor knows a customer with this id")
			p.Err = err
			return p
		case err != nil:
			return err
		}
		return respond(w, http.StatusOK, view)
	})
}

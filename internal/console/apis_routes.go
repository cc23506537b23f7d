package console

import "net/http"

// apiRoutes are the pages of APIs (integrations, routes, stages, tests)
// and of client certificate rotation.
func (s *server) apiRoutes() map[string]http.HandlerFunc {
	return map[string]http.HandlerFunc{
		"POST /apis":                                 s.createAPI,
		"GET /apis/{id}":                             s.apiView,
		"POST /apis/{id}/delete":                     s.deleteAPI,
		"POST /apis/{id}/invoke":                     s.invoke,
		"POST /apis/{id}/integrations":               s.createIntegration,
		"GET /apis/{id}/integrations/{iid}":          s.integration,
		"POST /apis/{id}/integrations/{iid}":         s.updateIntegration,
		"POST /apis/{id}/integrations/{iid}/check":   s.checkIntegration,
		"POST /apis/{id}/integrations/{iid}/delete":  s.deleteIntegration,
		"POST /apis/{id}/identity-headers":           s.setIdentityHeaders,
		"POST /apis/{id}/routes":                     s.createRoute,
		"GET /apis/{id}/routes/{rid}":                s.route,
		"POST /apis/{id}/routes/{rid}":               s.updateRoute,
		"POST /apis/{id}/routes/{rid}/delete":        s.deleteRoute,
		"POST /apis/{id}/stages":                     s.createStage,
		"GET /apis/{id}/stages/{sid}":                s.stage,
		"POST /apis/{id}/stages/{sid}":               s.updateStage,
		"POST /apis/{id}/stages/{sid}/delete":        s.deleteStage,
		"GET /client-certificates/{id}/rotate":       s.rotation,
		"POST /client-certificates/{id}/rotate/new":  s.rotateGenerate,
		"POST /client-certificates/{id}/rotate/use":  s.rotateSwitch,
		"POST /client-certificates/{id}/rotate/drop": s.rotateDelete,
	}
}

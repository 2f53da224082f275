package web

import (
	"github.com/gin-gonic/gin"

	camstreamv1 "github.com/camstream/camstream/gen/camstream/v1"
	"github.com/camstream/camstream/services/edge/internal/catalog"
)

// cameras is the catalog's cameras that the request's token may see.
func (s *Server) cameras(c *gin.Context) ([]*camstreamv1.Camera, error) {
	cams, err := s.catalog.Cameras()
	if err != nil {
		return nil, err
	}
	g := grant(c)
	seen := cams[:0:0]
	for _, cam := range cams {
		if g.Allows(cam.GetId()) {
			seen = append(seen, cam)
		}
	}
	return seen, nil
}

// captures is the catalog's captures for a request whose token sees every
// camera; none otherwise, since they tell how many cameras there are.
func (s *Server) captures(c *gin.Context) []catalog.Capture {
	if !grant(c).SeesAll() {
		return nil
	}
	return s.catalog.Captures()
}

// hidden answers a request for a camera its token may not see, exactly as
// for a camera that does not exist (404), so that a token learns nothing
// of the cameras of others; it reports whether it did.
func (s *Server) hidden(c *gin.Context, id string) bool {
	if grant(c).Allows(id) {
		return false
	}
	s.failCamera(c, id, catalog.ErrNotFound)
	return true
}

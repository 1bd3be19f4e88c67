//go:build !unix

package sqlclient

import "github.com/jackc/pgx/v5"

// rawAvailable says whether this platform has rawSession.
const rawAvailable = false

// rawSession needs Unix sockets used directly; elsewhere sessions are
// pgSession's.
type rawSession struct{ session }

func newRawSession(*pgx.ConnConfig) *rawSession { return nil }

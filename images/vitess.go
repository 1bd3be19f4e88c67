package images

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"

	"github.com/faultline-dev/faultline/engines/vitess/dist"
)

// vitessPackages are the Debian packages of the Vitess image: MariaDB's
// server core (mariadbd, and mariadb-install-db, which mysqlctl init
// runs) and its client programs (mariadb-admin, which mysqlctl shutdown
// and the tablet's start-up script run, and mariadb). Not
// mariadb-server: it adds mysqld_safe (mysqlctl runs mysqld without it
// when it is absent, and the tablets' pods run mariadbd themselves),
// Galera, rsync, socat and the other programs of a packaged service,
// none of which a tablet runs.
var vitessPackages = []string{"mariadb-server-core", "mariadb-client"}

// VitessUID is the uid (and gid) the Vitess image's programs run as:
// mysqlctl refuses to run as root.
const VitessUID = 1000

// vitessSetup prepares the root filesystem before MariaDB is installed:
// the user every program runs as, and no service started by a postinst.
const vitessSetup = `set -e
groupadd -g 1000 vitess
useradd -u 1000 -g 1000 -d /vt -s /bin/bash vitess
mkdir -p /vt/bin /vt/vtdataroot
chown -R 1000:1000 /vt
printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d
`

// vitessInstall installs MariaDB in the chroot and removes what an image
// does not need: apt's lists and caches, documentation, manual pages,
// info files and message translations (the pods run with LC_ALL=C;
// MariaDB's own error messages are in /usr/share/mysql and stay), logs
// of the install, and the data directory a postinst may have made
// (mysqlctl init makes each tablet's).
const vitessInstall = `set -e
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends PACKAGES
apt-get clean
rm -rf /var/lib/apt/lists/* /var/cache/apt/* /var/cache/debconf/*-old /var/lib/dpkg/*-old \
	/usr/share/doc /usr/share/man /usr/share/info /usr/share/locale /usr/share/lintian \
	/var/log/apt /var/log/dpkg.log /var/log/alternatives.log /var/log/bootstrap.log \
	/usr/sbin/policy-rc.d /var/lib/mysql/*
`

// vitessStrip is how the programs are copied into the image: without
// their symbol tables and debug information, as -ldflags='-s -w' would
// build them (panics still print stack traces from the runtime's own
// tables). The build the local platform runs is left as it is.
var vitessStrip = []string{"strip", "--strip-all"}

// vitess builds the Vitess image ref: the programs of package dist's
// MariaDB build (the one `faultline engines build vitess` makes, built
// first if the cache lacks it) that run on the nodes (dist.ServerPrograms,
// stripped) in /vt/bin, on a Debian root filesystem with MariaDB,
// running as uid VitessUID.
func (b *builder) vitess(ctx context.Context, ref string) error {
	d, err := dist.Build(ctx, dist.Options{Flavor: dist.MariaDB}, b.log)
	if err != nil {
		return err
	}
	root, err := b.aptRootfs(ctx, "rootfs-vitess", vitessSetup, vitessInstall, vitessPackages)
	if err != nil {
		return err
	}
	for _, p := range dist.ServerPrograms {
		dst := filepath.Join(root, "vt/bin", p)
		if err := copyFile(d.Path(p), dst, 0o755); err != nil {
			return err
		}
		if err := b.cmd(ctx, b.work, nil, nil, append(vitessStrip, dst)...); err != nil {
			return err
		}
	}
	return b.importDir(ctx, root, ref, []string{
		"ENV PATH=/vt/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"ENV VTDATAROOT=/vt/vtdataroot",
		"ENV VT_MYSQL_ROOT=/usr",
		"WORKDIR /vt",
		fmt.Sprintf("USER %d", VitessUID),
	})
}

// vitessTag is the Vitess image's tag: the Vitess release, then a hash of
// its own inputs only (the programs' build key, which covers the module
// version and every compatibility change, the programs copied and how
// they are stripped, and the Debian side), so that
// it and the other images rebuild independently.
func vitessTag(v Versions) string {
	h := sha256.New()
	fmt.Fprintf(h, "image %s\nprograms %s %v\nstrip %v\ndebian %s\npackages %v\n%s\n%s",
		Vitess, dist.Key(dist.ModuleVersion, dist.MariaDB), dist.ServerPrograms, vitessStrip, v.Debian, vitessPackages, vitessSetup, vitessInstall)
	return dist.Release(dist.ModuleVersion) + "-" + hex.EncodeToString(h.Sum(nil))[:12]
}

// OfficialVitess is the reference the vitess engine deploys on Kubernetes
// without vitess-operator, for the local build to stand in for. No
// registry publishes it: Vitess's own images run MySQL 8 and stock
// programs, and this one runs Debian's MariaDB with faultline's
// compatibility changes. Users with a registry push their build of
// `faultline images build vitess` under this name, or set engine.image.
const OfficialVitess = "faultline/vitess:v24.0.4-mariadb"

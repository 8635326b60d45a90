// Package sync gets host files into containers exactly, through the Docker
// Engine archive API, with the host as the source of truth. Apply copies and
// deletes the paths of one batch of changes; Reconcile compares a whole tree
// with the container's copy and sends only the difference. What a path is
// (file, folder, link or gone) is decided by lstat when the work is done,
// never by the event that reported it.
//
// # What reaches the container
//
// Regular files, folders and symlinks, with the host's permission bits. The
// setuid, setgid and sticky bits are never copied; a mode-only change
// (chmod +x) is copied like any other change. Every path gets the Owner
// given, normally from ResolveOwner, never the host's uid.
//
// Folders that a sync creates get the owner and the host's mode. Folders
// that exist keep theirs when Apply only passes through them, and the tree's
// root folder keeps its owner and mode in every case: they belong to the
// image. Reconcile, and Apply for a changed folder in its batch, make the
// folders below the root match the host.
//
// Paths that Tree.Skip ignores are left alone on both sides: never copied,
// and never deleted from the container. Special files (fifos, sockets,
// devices) are not synced either.
//
// # Symlinks
//
// A link whose target is relative and stays inside the tree once cleaned is
// copied as a link, unchanged. Any other link (absolute, or leaving the
// tree) is skipped with a warning, and the container's path is left alone
// with what is under it: an image built from the same folder may hold a
// link that works there. Host links are never followed, so loops cannot
// hang a walk. Every tar entry is checked to lie under its tree's
// ContainerRoot, a link's target too, and left out otherwise.
//
// The engine extracts archives inside the container's root file system: a
// link that the container has at or above the tree's root is followed
// there, never to the host. Below the root, a link or a file that the
// container has where the host has a folder is replaced by that folder, so
// nothing is written through the container's own links.
//
// # Type changes
//
// The engine replaces a path of another type within the same archive (a
// file where a folder was, a folder where a file or link was), so a type
// change needs no delete: no rm and no running container.
//
// # Deletes
//
// The archive API cannot delete. Deletes run `rm -rf` in the container as
// root; in images without rm (scratch, distroless) they run devd's
// supervisor at SupervisorPath, which `devd up` puts in place and which
// calls RemoveAll; without either, they fail with ErrNoRemover and the rest
// of the batch is still applied. A stopped container cannot run anything:
// ErrNeedsRunning tells the caller to keep the work and apply it again once
// the container runs. Copies work on stopped containers.
//
// # Limits of the archive API
//
//   - Every copy removes and recreates each file, giving it a new inode. A
//     watcher inside the container that follows inodes (node --watch) sees
//     the first change and none after it. devd's answer is to restart the
//     service process itself (a restart or sync+restart action), not to rely
//     on such watchers; nodemon and other watchers that watch folders are
//     not affected.
//   - The engine writes beneath tmpfs mounts, where the container does not
//     see the files, and rejects every copy into a read-only root file
//     system: CheckTarget reports both from the container's configuration.
//   - A copy into a full file system fails part way and leaves the file it
//     was writing cut short. The error is a NoSpaceError naming the tree's
//     target. The same copy succeeds once there is room, because the engine
//     replaces each file it extracts.
//   - Reconcile reads the container's whole tree, ignored folders included:
//     a large node_modules in the container is transferred, then skipped.
//
// The package shadows the standard library's sync: files that import both
// import this one as filesync, and this package imports the standard one as
// stdsync.
package sync

// Package watch reports changes to files under the host folders of a
// Compose project. It provides a recursive Watcher, a Matcher with
// .dockerignore semantics to leave paths out, and a Batcher that groups
// changed paths into debounced batches.
//
// The Watcher reports paths, not operations. A save is a burst of creates,
// writes, renames and removes whose order differs between editors. So the
// consumer decides what a path is by calling os.Lstat when it acts on a batch.
// A path that exists was created or changed, and a missing one was removed.
//
// # Linux: watches are not recursive
//
// inotify watches one folder at a time, so the Watcher adds a watch for
// every folder under each root and for each new folder as it appears.
// Folders that Config.Skip leaves out, such as node_modules, are never
// watched. A new folder often arrives with content already inside: after
// "mkdir -p a/b/c && echo x > a/b/c/f" the kernel reports only the creation of
// a. The Watcher therefore walks each new folder and reports everything it
// finds. A watch follows the folder's inode, so when a folder is renamed, the
// watches under it are removed and added again under the new name.
//
// # Linux: limits
//
// The kernel limits inotify per user, across all programs of that user,
// including editors and other watchers:
//
//   - fs.inotify.max_user_watches is the number of watched folders. Adding
//     a watch beyond it fails with ENOSPC ("no space left on device"). Older
//     kernels default to 8192; Linux 5.11 and later size the default from
//     the machine's memory.
//   - fs.inotify.max_user_instances is the number of inotify instances,
//     128 by default. Creating one beyond it fails with EMFILE ("too many
//     open files"). Each Watcher uses one instance.
//   - fs.inotify.max_queued_events is the number of events the kernel queues
//     for a reader, 16384 by default. Beyond it, events are lost and the
//     Watcher reports every root so that the consumer rescans them.
//
// Errors caused by the first two limits wrap ErrWatchLimit and name the
// sysctl, its current value and the command that raises it.
//
// # Network and virtual file systems
//
// inotify reports only the changes made through the local kernel. Changes made
// elsewhere produce no event: on another machine for NFS and SMB shares, by
// the Windows side for WSL 2's /mnt/c, by the host for 9p and other folders
// shared into a virtual machine, and by the remote end of FUSE file systems.
// Folders on such file systems need polling, which this package does not
// provide yet.
//
// # macOS and Windows
//
// fsnotify uses kqueue on macOS and ReadDirectoryChangesW on Windows. The
// code builds there, but the Watcher is tested on Linux only.
package watch

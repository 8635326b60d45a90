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
//     for a reader, 16384 by default. Beyond it, events are lost. The
//     Watcher then adds the lost watches again, reports every root so that
//     the consumer rescans them, and reports each folder created or
//     replaced meanwhile with its content.
//
// When one of the first two limits is reached, the Watcher logs one warning
// that names the sysctl, its current value and the command that raises it.
// It then keeps working by polling what it cannot watch. That is each folder
// that no watch was left for, with everything under it, or every root when
// no instance could be created. Watcher.Polling lists the polled paths.
//
// # Network and virtual file systems
//
// inotify reports only the changes made through the local kernel. Changes
// made elsewhere produce no event. On NFS and SMB shares, they are made on
// another machine. For WSL 2's /mnt/c they are made by the Windows side, for
// 9p and other folders shared into a virtual machine by the host, and for
// FUSE file systems by the remote end. Such folders need Config.Poll.
//
// # Polling
//
// A polling Watcher keeps a snapshot of every path it polls and scans it at
// each interval. A path is reported when it appears or disappears, and when
// its size, modification or change time, mode, inode number or symbolic link
// target changes. A new folder is reported with everything inside it, and a
// removed folder with everything it held. Skipped folders are never read.
//
// A folder's timestamps change when entries are added, removed or renamed
// in it, not when a file inside it is written. So a scan lists only the
// folders whose state changed, but it calls lstat on every path it holds. On
// a 2-core virtual machine, a scan of 100,000 files took about 0.18 s of CPU
// time, most of it in lstat. When a scan takes more than a quarter of the
// interval, the next one waits four times as long as the scan took.
//
// NOTE: a write that keeps a file's size and happens within the same tick
// of the file system's clock as the previous scan's lstat of that file is
// missed until the file changes again. Linux file systems keep nanosecond
// timestamps whose ticks are a few milliseconds at most, so this takes a
// write in the middle of a save.
//
// # macOS and Windows
//
// fsnotify uses kqueue on macOS and ReadDirectoryChangesW on Windows. The
// code builds there, but the Watcher is tested on Linux only.
package watch

//! Frames to the harness, written in the order they were sent. Most frames fit the socket
//! buffer and are written at once, without a task hop; the rest of a frame that does not fit,
//! and every frame sent while anything is still queued, goes to one writer task per worker,
//! which writes them strictly in order. (A task per frame let a later frame overtake an
//! earlier one, or land in the middle of it.)

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::net::unix::OwnedWriteHalf;
use tokio::sync::mpsc;

pub(crate) struct FrameWriter {
    stream: Arc<OwnedWriteHalf>,
    queue: mpsc::UnboundedSender<Vec<u8>>,
    /// Frames queued and not yet fully written.
    queued: Arc<AtomicUsize>,
}

impl FrameWriter {
    pub fn new(stream: OwnedWriteHalf) -> Self {
        let stream = Arc::new(stream);
        let (queue, mut rx) = mpsc::unbounded_channel::<Vec<u8>>();
        let queued = Arc::new(AtomicUsize::new(0));
        let (task_stream, task_queued) = (stream.clone(), queued.clone());
        tokio::spawn(async move {
            while let Some(buf) = rx.recv().await {
                if write_all(&task_stream, &buf).await.is_err() {
                    // The child is gone: nothing more can be delivered. Keep counting down so
                    // the fast path does not stall behind frames that will never be written.
                    task_queued.fetch_sub(1, Ordering::SeqCst);
                    while rx.recv().await.is_some() {
                        task_queued.fetch_sub(1, Ordering::SeqCst);
                    }
                    return;
                }
                task_queued.fetch_sub(1, Ordering::SeqCst);
            }
        });
        FrameWriter { stream, queue, queued }
    }

    /// Sends `frame` after every frame sent before it. Never waits for the child to read.
    /// Callers send from one task at a time (`&mut self`), so the check below cannot race
    /// another send; the writer task only ever lowers the count.
    pub fn send(&mut self, frame: &[u8]) {
        let mut written = 0;
        if self.queued.load(Ordering::SeqCst) == 0 {
            while let Ok(n) = self.stream.try_write(&frame[written..]) {
                written += n;
                if written == frame.len() {
                    return;
                }
            }
        }
        self.queued.fetch_add(1, Ordering::SeqCst);
        if self.queue.send(frame[written..].to_vec()).is_err() {
            self.queued.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

async fn write_all(stream: &OwnedWriteHalf, mut buf: &[u8]) -> std::io::Result<()> {
    // `OwnedWriteHalf` writes through `&self` only with try_write; wait for writability first.
    while !buf.is_empty() {
        stream.writable().await?;
        match stream.try_write(buf) {
            Ok(n) => buf = &buf[n..],
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    #[tokio::test]
    async fn a_large_frame_and_the_small_ones_after_it_arrive_whole_and_in_order() {
        let (a, mut b) = tokio::net::UnixStream::pair().unwrap();
        let (_r, w) = a.into_split();
        let mut writer = FrameWriter::new(w);
        let big = vec![b'x'; 4 * 1024 * 1024];
        let mut expected = Vec::new();
        for i in 0..20u8 {
            let frame: Vec<u8> = if i % 5 == 0 { big.clone() } else { vec![b'a' + i; 10] };
            writer.send(&frame);
            expected.extend_from_slice(&frame);
        }
        let mut got = vec![0u8; expected.len()];
        b.read_exact(&mut got).await.unwrap();
        assert!(got == expected, "frames were reordered or interleaved");
    }
}

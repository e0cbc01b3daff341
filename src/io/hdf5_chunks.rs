//! Direct chunk reads of NetCDF-4 variables: the stored (compressed) chunks
//! are read and decoded here instead of inside `nc_get_vara` (on one thread,
//! with zlib, through HDF5's chunk cache), in one of two ways:
//!
//! * chunks that hold whole frames (the last two dimensions, latitude and
//!   longitude, whole; any number of steps or levels), the usual layout of
//!   ERA5-like files: [`ChunkedVar::frames`] hands out one frame per step,
//!   decoded on use, on the thread that uses it, by a streaming inflate
//!   (zlib-rs) straight from the file, and given back to the operating
//!   system frame by frame (see [`super::chunk_stream`]). Deflate and shuffle
//!   only;
//! * any other chunking, and fletcher32: [`ChunkedVar::read_parts`] fetches a
//!   block's chunks with `H5Dread_chunk`, inflates them in parallel with
//!   libdeflate and copies them into the block's frames.
//!
//! A NetCDF-4 file is an HDF5 file whose root-group variables are datasets of
//! the same name. [`ChunkedVar::open`] accepts a dataset only when it is
//! chunked, its filter pipeline is made of deflate, shuffle and fletcher32
//! alone, and its type is float32, float64 or int16 in either byte order;
//! anything else (szip, zstd, scale-offset, other types, groups) returns
//! `None` and the caller keeps reading through netCDF. A block that this path
//! cannot serve exactly as netCDF would (beyond the dataset's extent along an
//! unlimited dimension, an unallocated chunk without a defined fill value, any
//! HDF5 or decoding error) also returns `None`, and the caller reads that block
//! through netCDF, which produces the familiar error if the file is damaged; a
//! frame decoded on use that cannot be decoded is read through netCDF by its
//! user (see `io::netcdf`), with the same result.
//!
//! Values come back as netCDF's `nc_get_vara` would return them converted to
//! the requested type (`f32` for float32, `f64` for any type), in the order of
//! the requested hyperslab; CF decoding stays with the caller.
//!
//! Threads: HDF5 calls (lookups and raw reads) hold the process-wide lock that
//! the netcdf crate takes around every netCDF call (`hdf5_metno_sys::LOCK`),
//! so they never run concurrently with each other or with netCDF. Frames
//! decoded on use read the file with `pread` at the chunk addresses HDF5
//! gives (when no user block shifts them; else the stored chunk is fetched
//! whole with `H5Dread_chunk` when the frame is handed out), without HDF5.
//! In [`ChunkedVar::read_parts`], inflating, unshuffling and copying run in
//! parallel on the *current* rayon pool when called inside one, and on the
//! calling thread otherwise, so the backend's `--threads` decides.
//!
//! Memory: a chunk of whole frames costs at most the part decoded before its
//! first frame is complete, less what its used frames gave back: with
//! shuffle, `(size - 1) / size` of the chunk plus a frame (38.5 MB of a
//! 12-step float32 0.25-degree chunk of 50 MB); without, one frame. Its
//! compressed bytes are read 1 MiB at a time. When a block ends inside a time
//! chunk (chunks longer in time than the backends' blocks, or a selection
//! starting mid-chunk), the chunks of that time row are kept for the next
//! block, which continues decoding them, so that each chunk is inflated once.
//!
//! [`ChunkedVar::read_parts`] decodes a block's chunks, copies them into the
//! block's frames and drops (or recycles, up to 128 MiB: fresh buffers cost
//! page faults as long as a fast inflate) them one by one, so a read holds
//! the frames plus about one compressed and one decoded chunk per thread.
//! The decoded chunks of a time row that a block ends inside are kept for the
//! next block likewise, up to [`ROW_CACHE_BYTES`], and beyond that decoded
//! again for each block, which is what netCDF does with its default chunk
//! cache (HDF5 must hold a whole decoded chunk to return any part of it).

use std::collections::HashMap;
use std::ffi::CString;
use std::ops::Range;
use std::os::raw::{c_uint, c_void};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use hdf5_metno_sys::h5::{haddr_t, hsize_t, HADDR_UNDEF};
use hdf5_metno_sys::h5d::{
    H5D_fill_time_t, H5D_fill_value_t, H5D_layout_t, H5Dclose, H5Dget_chunk_info_by_coord,
    H5Dget_create_plist, H5Dget_space, H5Dget_type, H5Dopen2, H5Dread_chunk,
};
use hdf5_metno_sys::h5f::{H5Fclose, H5Fget_create_plist, H5Fopen, H5F_ACC_RDONLY};
use hdf5_metno_sys::h5i::hid_t;
use hdf5_metno_sys::h5p::{
    H5Pclose, H5Pfill_value_defined, H5Pget_chunk, H5Pget_fill_time, H5Pget_fill_value,
    H5Pget_filter2, H5Pget_layout, H5Pget_nfilters, H5Pget_userblock, H5P_DEFAULT,
};
use hdf5_metno_sys::h5s::{H5Sclose, H5Sget_simple_extent_dims, H5Sget_simple_extent_ndims};
use hdf5_metno_sys::h5t::{
    H5T_class_t, H5T_order_t, H5T_sign_t, H5Tclose, H5Tget_class, H5Tget_order, H5Tget_sign,
    H5Tget_size,
};
use hdf5_metno_sys::h5z::{H5Z_FILTER_DEFLATE, H5Z_FILTER_FLETCHER32, H5Z_FILTER_SHUFFLE};
use rayon::prelude::*;

use super::chunk_stream::{ChunkFrame, Pipeline, Raw, StreamedChunk};

/// Largest time row of decoded chunks kept between two blocks.
pub const ROW_CACHE_BYTES: usize = 2 << 30;

/// Environment switch: `STORMTRACK_NETCDF_DIRECT=0` reads everything through
/// netCDF (troubleshooting).
pub const ENV_SWITCH: &str = crate::env_switch::NETCDF_DIRECT;

/// Whether the direct path is allowed by the environment.
pub fn enabled_by_env() -> bool {
    crate::env_switch::on(ENV_SWITCH)
}

/// The stored element type, as netCDF declares it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    F32,
    F64,
    I16,
}

impl Kind {
    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            Kind::F32 => 4,
            Kind::F64 => 8,
            Kind::I16 => 2,
        }
    }
}

/// Decoded chunk bytes: elements in the dataset's byte order, either
/// interleaved or still byte-shuffled (planar), in which case the last
/// unshuffle is fused with the conversion.
#[derive(Debug, Clone)]
pub struct Decoded {
    bytes: Vec<u8>,
    planar: bool,
}

impl Decoded {
    /// Interleaved elements (e.g. one fill value).
    pub(crate) fn interleaved(bytes: Vec<u8>) -> Self {
        Decoded {
            bytes,
            planar: false,
        }
    }

    /// The whole chunk as a [`View`] of `elem`-byte elements.
    pub(crate) fn view(&self, elem: usize) -> View<'_> {
        if self.planar {
            let n = self.bytes.len() / elem;
            View::planar((0..elem).map(|j| &self.bytes[j * n..(j + 1) * n]))
        } else {
            View::Interleaved(&self.bytes)
        }
    }
}

/// Decoded elements to convert: interleaved bytes, or one slice per byte
/// plane (byte `j` of element `k` at `planes[j][k]`; at most 8 planes).
#[derive(Debug, Clone, Copy)]
pub enum View<'a> {
    Interleaved(&'a [u8]),
    Planar([&'a [u8]; 8]),
}

impl<'a> View<'a> {
    pub(crate) fn planar(planes: impl Iterator<Item = &'a [u8]>) -> Self {
        let mut out: [&[u8]; 8] = [&[]; 8];
        for (o, p) in out.iter_mut().zip(planes) {
            *o = p;
        }
        View::Planar(out)
    }

    /// Calls `put(k, bytes of element start + k)` for `len` elements.
    #[inline(always)]
    fn each<const N: usize>(&self, start: usize, len: usize, mut put: impl FnMut(usize, [u8; N])) {
        match self {
            View::Planar(p) => {
                let planes: [&[u8]; N] = std::array::from_fn(|j| &p[j][start..start + len]);
                #[allow(clippy::needless_range_loop)] // k indexes all N planes
                for k in 0..len {
                    put(k, std::array::from_fn(|j| planes[j][k]));
                }
            }
            View::Interleaved(bytes) => {
                let run = &bytes[start * N..(start + len) * N];
                for (k, b) in run.chunks_exact(N).enumerate() {
                    put(k, b.try_into().expect("element size"));
                }
            }
        }
    }
}

/// An output element type: what `nc_get_vara_float`/`_double` would give.
pub trait Sample: Copy + Default + Send + Sync + 'static {
    /// Whether stored `kind` converts to `Self` exactly as netCDF converts it.
    fn supports(kind: Kind) -> bool;
    /// Converts elements `start..start + out.len()` of `src` (of `kind`, in
    /// big- or little-endian order) into `out`.
    fn convert(kind: Kind, be: bool, src: &View<'_>, start: usize, out: &mut [Self]);
}

macro_rules! convert_as {
    ($src:expr, $start:expr, $out:expr, $n:literal, $ty:ty, $be:expr, $map:expr) => {{
        let out = $out;
        if $be {
            $src.each::<$n>($start, out.len(), |k, b| {
                out[k] = $map(<$ty>::from_be_bytes(b))
            });
        } else {
            $src.each::<$n>($start, out.len(), |k, b| {
                out[k] = $map(<$ty>::from_le_bytes(b))
            });
        }
    }};
}

impl Sample for f32 {
    fn supports(kind: Kind) -> bool {
        // netCDF range-checks narrowing conversions; the caller never asks.
        kind == Kind::F32
    }
    fn convert(kind: Kind, be: bool, src: &View<'_>, start: usize, out: &mut [f32]) {
        assert_eq!(kind, Kind::F32, "checked by supports()");
        convert_as!(src, start, out, 4, f32, be, |v| v)
    }
}

impl Sample for f64 {
    fn supports(_: Kind) -> bool {
        true
    }
    fn convert(kind: Kind, be: bool, src: &View<'_>, start: usize, out: &mut [f64]) {
        match kind {
            Kind::F32 => convert_as!(src, start, out, 4, f32, be, f64::from),
            Kind::F64 => convert_as!(src, start, out, 8, f64, be, |v| v),
            Kind::I16 => convert_as!(src, start, out, 2, i16, be, f64::from),
        }
    }
}

/// One stage of the HDF5 filter pipeline, in write order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Filter {
    Deflate,
    /// Byte shuffle of elements of this many bytes.
    Shuffle(usize),
    Fletcher32,
}

/// What an unallocated chunk reads as.
#[derive(Debug, Clone)]
enum Fill {
    /// One element, in the dataset's byte order.
    Value(Decoded),
    /// HDF5 leaves the caller's buffer untouched: not reproducible here.
    Unpredictable,
}

/// Decoded chunks of one time row, kept for the next block.
#[derive(Debug, Default)]
struct RowCache {
    /// Time chunk index of the row.
    row: usize,
    chunks: HashMap<Vec<usize>, Arc<Decoded>>,
}

/// HDF5 handles of the dataset; closed on drop.
#[derive(Debug)]
struct Handles {
    file: hid_t,
    dset: hid_t,
}

impl Drop for Handles {
    fn drop(&mut self) {
        let _lock = hdf5_metno_sys::LOCK.lock();
        super::hdf5_quiet::quiet_hdf5_errors();
        // SAFETY: ids opened by `ChunkedVar::open`, closed once here.
        unsafe {
            H5Dclose(self.dset);
            H5Fclose(self.file);
        }
    }
}

/// A chunked NetCDF-4 variable read chunk by chunk.
#[derive(Debug)]
pub struct ChunkedVar {
    hdf5: Handles,
    /// The dataset's current extent.
    extent: Vec<usize>,
    chunk: Vec<usize>,
    kind: Kind,
    big_endian: bool,
    filters: Vec<Filter>,
    fill: Fill,
    time_axis: Option<usize>,
    cache: RowCache,
    /// Blocks served (for tests and troubleshooting).
    served: usize,
    /// Chunks read and decoded (idem).
    decoded: AtomicUsize,
    spare: Spare,
    /// The file, to read stored chunks at HDF5's addresses (`None` when
    /// those are not file offsets: a user block; then HDF5 reads them).
    file: Option<Arc<std::fs::File>>,
    /// Streamed chunks of the time row `stream_row`, kept for the next block.
    streams: HashMap<Vec<usize>, Arc<StreamedChunk>>,
    stream_row: usize,
}

impl Drop for ChunkedVar {
    fn drop(&mut self) {
        // The memory kept for chunks to come goes back with the variable.
        super::granule_pool::drain();
    }
}

/// Closes an HDF5 id of the given kind when dropped.
struct Guard(
    hid_t,
    unsafe extern "C" fn(hid_t) -> hdf5_metno_sys::h5::herr_t,
);

impl Drop for Guard {
    fn drop(&mut self) {
        // SAFETY: a valid id of the kind `self.1` closes.
        unsafe {
            (self.1)(self.0);
        }
    }
}

impl ChunkedVar {
    /// Opens variable `name` of the NetCDF-4 file `path` for direct reads, if
    /// its storage is supported. `dims` are the netCDF dimension lengths,
    /// `time_axis` the index of the time dimension.
    pub fn open(
        path: &Path,
        name: &str,
        dims: &[usize],
        kind: Kind,
        time_axis: Option<usize>,
    ) -> Option<Self> {
        let _lock = hdf5_metno_sys::LOCK.lock();
        super::hdf5_quiet::quiet_hdf5_errors();
        let cpath = CString::new(path.as_os_str().as_encoded_bytes()).ok()?;
        let cname = CString::new(name).ok()?;
        // SAFETY: plain HDF5 C calls on ids we own; every id is closed by a
        // guard or by `Handles`.
        unsafe {
            let file = H5Fopen(cpath.as_ptr(), H5F_ACC_RDONLY, H5P_DEFAULT);
            if file < 0 {
                return None;
            }
            let dset = H5Dopen2(file, cname.as_ptr(), H5P_DEFAULT);
            if dset < 0 {
                H5Fclose(file);
                return None;
            }
            let handles = Handles { file, dset };
            let extent = dataset_extent(dset)?;
            if extent.len() != dims.len() {
                return None;
            }
            // Only an unlimited (time) dimension may be shorter than netCDF's.
            for (i, (&e, &d)) in extent.iter().zip(dims).enumerate() {
                if e != d && !(Some(i) == time_axis && e < d) {
                    return None;
                }
            }
            let (big_endian, size) = stored_type(dset, kind)?;
            let dcpl = H5Dget_create_plist(dset);
            if dcpl < 0 {
                return None;
            }
            let _dcpl = Guard(dcpl, H5Pclose);
            if H5Pget_layout(dcpl) != H5D_layout_t::H5D_CHUNKED {
                return None;
            }
            let mut chunk = vec![0 as hsize_t; dims.len()];
            if H5Pget_chunk(dcpl, dims.len() as i32, chunk.as_mut_ptr()) != dims.len() as i32 {
                return None;
            }
            let chunk: Vec<usize> = chunk.iter().map(|&c| c as usize).collect();
            if chunk.contains(&0) {
                return None;
            }
            let filters = filter_pipeline(dcpl, size)?;
            let file = plain_offsets(file)
                .then(|| std::fs::File::open(path).ok().map(Arc::new))
                .flatten();
            let fill = fill_value(dcpl, dset, size)?;
            Some(ChunkedVar {
                hdf5: handles,
                extent,
                chunk,
                kind,
                big_endian,
                filters,
                fill,
                time_axis,
                cache: RowCache::default(),
                served: 0,
                decoded: AtomicUsize::new(0),
                spare: Spare::default(),
                file,
                streams: HashMap::new(),
                stream_row: 0,
            })
        }
    }

    /// Blocks served and chunks decoded so far by this path.
    pub fn stats(&self) -> (usize, usize) {
        (self.served, self.decoded.load(Ordering::Relaxed))
    }

    /// Reads the hyperslab `ext` (one range per dimension) in row-major order,
    /// or `None` when this block must be read through netCDF instead.
    pub fn read<T: Sample>(&mut self, ext: &[Range<usize>]) -> Option<Vec<T>> {
        self.read_parts(ext, 1)?.pop()
    }

    /// As [`ChunkedVar::read`], with the values cut into `parts` vectors of
    /// equal length (frames, when the leading dimension is time), so that
    /// they need not be copied again. Each part must hold whole rows of the
    /// last dimension.
    pub fn read_parts<T: Sample>(
        &mut self,
        ext: &[Range<usize>],
        parts: usize,
    ) -> Option<Vec<Vec<T>>> {
        if ext.len() != self.extent.len()
            || ext.iter().zip(&self.extent).any(|(r, &e)| r.end > e)
            || ext.iter().any(|r| r.is_empty())
        {
            return None;
        }
        if !T::supports(self.kind) {
            return None;
        }
        let coords = self.chunk_coords(ext);
        let keep_row = self.row_to_keep(ext);
        if self.time_axis.is_some_and(|t| {
            coords
                .first()
                .is_none_or(|c| c[t] != self.cache.row || self.cache.chunks.is_empty())
        }) {
            // The block does not start in the kept row: it is of no more use.
            self.cache.chunks.clear();
        }
        let len: usize = ext.iter().map(|r| r.len()).product();
        let row = ext.last().map_or(1, |r| r.len());
        if parts == 0 || !len.is_multiple_of(parts) || !(len / parts).is_multiple_of(row) {
            return None;
        }
        let mut out: Vec<Vec<T>> = (0..parts)
            .map(|_| vec![T::default(); len / parts])
            .collect();
        let dst = SharedOut {
            parts: out.iter_mut().map(|p| p.as_mut_ptr()).collect(),
            part_len: len / parts,
        };
        let task = |c: &Vec<usize>| -> Option<Option<(Vec<usize>, Arc<Decoded>)>> {
            let data = match self.cache.chunks.get(c) {
                Some(d) => Some(Arc::clone(d)),
                None => self.load(c)?.map(Arc::new),
            };
            match &data {
                Some(d) => self.scatter(c, d, ext, &dst)?,
                None => self.scatter_fill(c, ext, &dst)?,
            }
            if keep_row.is_some_and(|(t, row)| c[t] == row) {
                return Some(data.map(|d| (c.clone(), d)));
            }
            if let Some(d) = data.and_then(|d| Arc::try_unwrap(d).ok()) {
                self.spare.put(d.bytes);
            }
            Some(None)
        };
        let kept: Vec<Option<(Vec<usize>, Arc<Decoded>)>> =
            if rayon::current_thread_index().is_some() {
                coords.par_iter().map(task).collect::<Option<_>>()?
            } else {
                coords.iter().map(task).collect::<Option<_>>()?
            };
        self.cache.chunks = kept.into_iter().flatten().collect();
        if let Some((_, row)) = keep_row {
            self.cache.row = row;
        }
        self.served += 1;
        Some(out)
    }

    /// The frames of the hyperslab `ext`, one per index of its dimensions
    /// before the last two (row-major), each decoded when first read and
    /// given back when dropped (see [`super::chunk_stream`]). `None` when the
    /// chunks do not hold whole frames (the last two dimensions whole) or
    /// their filters do not stream; the block is then read with
    /// [`ChunkedVar::read_parts`].
    pub fn frames(&mut self, ext: &[Range<usize>]) -> Option<Vec<ChunkFrame>> {
        let nd = self.extent.len();
        if nd < 2
            || ext.len() != nd
            || ext.iter().zip(&self.extent).any(|(r, &e)| r.end > e)
            || ext.iter().any(|r| r.is_empty())
        {
            return None;
        }
        let outer = nd - 2;
        if (outer..nd).any(|d| self.chunk[d] != self.extent[d] || ext[d] != (0..self.extent[d])) {
            return None;
        }
        self.pipeline(0)?;
        let slot_elems = self.chunk[outer] * self.chunk[outer + 1];
        let slots: usize = self.chunk[..outer].iter().product();
        let mut stride = vec![1usize; outer];
        for d in (0..outer.saturating_sub(1)).rev() {
            stride[d] = stride[d + 1] * self.chunk[d + 1];
        }
        let time = self.time_axis.filter(|&t| t < outer);
        let row_of = |t: usize, i: usize| i / self.chunk[t] * self.chunk[t];
        if time.is_none_or(|t| row_of(t, ext[t].start) != self.stream_row) {
            // The block does not continue the kept row: it is of no more use.
            self.streams.clear();
        }
        let count: usize = ext[..outer].iter().map(|r| r.len()).product();
        let mut frames = Vec::with_capacity(count);
        let mut idx: Vec<usize> = ext[..outer].iter().map(|r| r.start).collect();
        for _ in 0..count {
            let mut origin: Vec<usize> = (0..outer)
                .map(|d| idx[d] / self.chunk[d] * self.chunk[d])
                .collect();
            let slot: usize = (0..outer).map(|d| (idx[d] - origin[d]) * stride[d]).sum();
            origin.extend([0, 0]);
            let frame = match self.streams.get(&origin).and_then(|c| c.claim(slot)) {
                Some(f) => f,
                None => {
                    let chunk = Arc::new(self.open_stream(&origin, ext, slots, slot_elems)?);
                    let f = chunk.claim(slot)?;
                    self.streams.insert(origin, chunk);
                    f
                }
            };
            frames.push(frame);
            for d in (0..outer).rev() {
                idx[d] += 1;
                if idx[d] < ext[d].end {
                    break;
                }
                idx[d] = ext[d].start;
            }
        }
        // Each chunk is checked whole before the block's last frame of it.
        for i in (0..frames.len()).rev() {
            if !frames[i + 1..].iter().any(|f| f.same_chunk(&frames[i])) {
                frames[i].verify_chunk();
            }
        }
        // Keep the last row's chunks when the block ends inside it, so that
        // the next block decodes them no further than it has to.
        match time {
            Some(t) => {
                let row = row_of(t, ext[t].end - 1);
                if ext[t].end < (row + self.chunk[t]).min(self.extent[t]) {
                    self.streams.retain(|o, _| o[t] == row);
                    self.stream_row = row;
                } else {
                    self.streams.clear();
                }
            }
            None => self.streams.clear(),
        }
        self.served += 1;
        Some(frames)
    }

    /// How chunks stored with filter `mask` decode, if they stream.
    fn pipeline(&self, mask: c_uint) -> Option<Pipeline> {
        let mut p = Pipeline {
            deflate: false,
            shuffle: false,
        };
        // Write order: shuffle, then deflate.
        for (i, f) in self.filters.iter().enumerate() {
            if i < 32 && mask & (1 << i) != 0 {
                continue;
            }
            match *f {
                Filter::Shuffle(size) if size == self.kind.size() && !p.shuffle && !p.deflate => {
                    p.shuffle = true;
                }
                Filter::Deflate if !p.deflate => p.deflate = true,
                _ => return None,
            }
        }
        Some(p)
    }

    /// Starts streaming the chunk at `origin` for the block `ext`: its slots
    /// outside the dataset, or at other indices of the block's fixed
    /// dimensions, will never be claimed.
    fn open_stream(
        &self,
        origin: &[usize],
        ext: &[Range<usize>],
        slots: usize,
        slot_elems: usize,
    ) -> Option<StreamedChunk> {
        let outer = origin.len() - 2;
        let wanted = |slot: usize| {
            let mut rest = slot;
            (0..outer).rev().all(|d| {
                let i = origin[d] + rest % self.chunk[d];
                rest /= self.chunk[d];
                i < self.extent[d] && (Some(d) == self.time_axis || ext[d].contains(&i))
            })
        };
        let _lock = hdf5_metno_sys::LOCK.lock();
        super::hdf5_quiet::quiet_hdf5_errors();
        let offset: Vec<hsize_t> = origin.iter().map(|&o| o as hsize_t).collect();
        let (mut mask, addr, size) = self.chunk_info(&offset)?;
        let (kind, be) = (self.kind, self.big_endian);
        if addr == HADDR_UNDEF || size == 0 {
            let Fill::Value(one) = &self.fill else {
                return None;
            };
            return Some(StreamedChunk::filled(
                one.clone(),
                kind,
                be,
                slots,
                slot_elems,
                wanted,
            ));
        }
        let pipeline = self.pipeline(mask)?;
        let len = usize::try_from(size).ok()?;
        let raw = match &self.file {
            Some(file) => {
                use std::os::fd::AsRawFd;
                // Only a hint: the kernel reads the chunk ahead of its use.
                // SAFETY: a valid descriptor; no memory is passed.
                unsafe {
                    libc::posix_fadvise(
                        file.as_raw_fd(),
                        addr as libc::off_t,
                        len as libc::off_t,
                        libc::POSIX_FADV_WILLNEED,
                    );
                }
                Raw::File {
                    file: Arc::clone(file),
                    offset: addr,
                    len,
                }
            }
            None => {
                let mut raw = vec![0u8; len];
                self.read_stored(&offset, &mut mask, &mut raw)?;
                Raw::Memory(raw)
            }
        };
        self.decoded.fetch_add(1, Ordering::Relaxed);
        StreamedChunk::new(raw, pipeline, kind, be, slots, slot_elems, wanted)
    }

    /// Chunk origins (in elements) overlapping `ext`, in row-major order.
    fn chunk_coords(&self, ext: &[Range<usize>]) -> Vec<Vec<usize>> {
        let mut coords = vec![Vec::new()];
        for (r, &c) in ext.iter().zip(&self.chunk) {
            let idx: Vec<usize> = (r.start / c..r.end.div_ceil(c)).map(|k| k * c).collect();
            coords = coords
                .into_iter()
                .flat_map(|p| {
                    idx.iter().map(move |&o| {
                        let mut q = p.clone();
                        q.push(o);
                        q
                    })
                })
                .collect();
        }
        coords
    }

    /// The time axis and chunk origin of the row to keep after reading `ext`:
    /// the last row, when the block ends inside it and it is small enough.
    fn row_to_keep(&self, ext: &[Range<usize>]) -> Option<(usize, usize)> {
        let t = self.time_axis?;
        let c = self.chunk[t];
        let row = (ext[t].end - 1) / c * c;
        let row_end = (row + c).min(self.extent[t]);
        let tiles: usize = ext
            .iter()
            .zip(&self.chunk)
            .enumerate()
            .filter(|(i, _)| *i != t)
            .map(|(_, (r, &c))| r.end.div_ceil(c) - r.start / c)
            .product();
        let bytes = tiles * self.chunk_elems() * self.kind.size();
        (ext[t].end < row_end && bytes <= ROW_CACHE_BYTES).then_some((t, row))
    }

    /// The filter mask, file address and stored size of the chunk at
    /// `offset` (HADDR_UNDEF or size 0 when not allocated). The caller holds
    /// the HDF5 lock.
    fn chunk_info(&self, offset: &[hsize_t]) -> Option<(c_uint, haddr_t, hsize_t)> {
        let (mut mask, mut addr, mut size): (c_uint, haddr_t, hsize_t) = (0, 0, 0);
        // SAFETY: `offset` has one entry per dimension; outputs are locals.
        let rc = unsafe {
            H5Dget_chunk_info_by_coord(
                self.hdf5.dset,
                offset.as_ptr(),
                &mut mask,
                &mut addr,
                &mut size,
            )
        };
        (rc >= 0).then_some((mask, addr, size))
    }

    /// Reads the stored (still filtered) bytes of the chunk at `offset` into
    /// `buf`, which must hold its stored size. The caller holds the HDF5 lock.
    fn read_stored(&self, offset: &[hsize_t], mask: &mut c_uint, buf: &mut [u8]) -> Option<()> {
        // SAFETY: `buf` holds the chunk's stored size, as HDF5 reported it.
        let rc = unsafe {
            H5Dread_chunk(
                self.hdf5.dset,
                H5P_DEFAULT,
                offset.as_ptr(),
                mask,
                buf.as_mut_ptr().cast::<c_void>(),
            )
        };
        (rc >= 0).then_some(())
    }

    fn chunk_elems(&self) -> usize {
        self.chunk.iter().product()
    }

    /// Reads and decodes the chunk at `origin`: `Some(None)` when it is not
    /// allocated, `None` on any failure.
    fn load(&self, origin: &[usize]) -> Option<Option<Decoded>> {
        let (raw, mask) = {
            let _lock = hdf5_metno_sys::LOCK.lock();
            super::hdf5_quiet::quiet_hdf5_errors();
            let offset: Vec<hsize_t> = origin.iter().map(|&o| o as hsize_t).collect();
            let (mut mask, addr, size) = self.chunk_info(&offset)?;
            if addr == HADDR_UNDEF || size == 0 {
                return Some(None);
            }
            let mut raw = self.spare.take(size as usize);
            self.read_stored(&offset, &mut mask, &mut raw)?;
            (raw, mask)
        };
        let want = self.chunk_elems() * self.kind.size();
        self.decoded.fetch_add(1, Ordering::Relaxed);
        decode(
            raw,
            mask,
            &self.filters,
            want,
            self.kind.size(),
            &self.spare,
        )
        .map(Some)
    }

    /// Copies the part of chunk `origin` (decoded `data`) inside `ext` into
    /// the block; in parallel over its rows when inside a rayon pool.
    fn scatter<T: Sample>(
        &self,
        origin: &[usize],
        data: &Decoded,
        ext: &[Range<usize>],
        dst: &SharedOut<T>,
    ) -> Option<()> {
        let mut runs = Vec::new();
        self.for_each_run(origin, ext, |src, out, n| {
            runs.push((src, out, n));
            Some(())
        })?;
        let view = data.view(self.kind.size());
        let copy = |&(src, out, n): &(usize, usize, usize)| {
            // SAFETY: runs of distinct chunks, and of one chunk, are disjoint.
            let out = unsafe { dst.slice(out, n) };
            T::convert(self.kind, self.big_endian, &view, src, out);
        };
        if rayon::current_thread_index().is_some() {
            runs.par_iter().with_min_len(16).for_each(copy);
        } else {
            runs.iter().for_each(copy);
        }
        Some(())
    }

    /// Writes the fill value over the part of an unallocated chunk inside `ext`.
    fn scatter_fill<T: Sample>(
        &self,
        origin: &[usize],
        ext: &[Range<usize>],
        dst: &SharedOut<T>,
    ) -> Option<()> {
        let Fill::Value(one) = &self.fill else {
            return None;
        };
        let mut value = [T::default()];
        T::convert(self.kind, self.big_endian, &one.view(1), 0, &mut value);
        self.for_each_run(origin, ext, |_, out, n| {
            // SAFETY: as in `scatter`.
            unsafe { dst.slice(out, n) }.fill(value[0]);
            Some(())
        })
    }

    /// Calls `f(source element, block element, length)` for every run along
    /// the last dimension of the overlap of chunk `origin` with `ext`.
    fn for_each_run(
        &self,
        origin: &[usize],
        ext: &[Range<usize>],
        mut f: impl FnMut(usize, usize, usize) -> Option<()>,
    ) -> Option<()> {
        let nd = ext.len();
        let lo: Vec<usize> = (0..nd).map(|d| ext[d].start.max(origin[d])).collect();
        let hi: Vec<usize> = (0..nd)
            .map(|d| ext[d].end.min(origin[d] + self.chunk[d]))
            .collect();
        if (0..nd).any(|d| lo[d] >= hi[d]) {
            return Some(());
        }
        let mut cstride = vec![1usize; nd];
        let mut ostride = vec![1usize; nd];
        for d in (0..nd - 1).rev() {
            cstride[d] = cstride[d + 1] * self.chunk[d + 1];
            ostride[d] = ostride[d + 1] * ext[d + 1].len();
        }
        let run = hi[nd - 1] - lo[nd - 1];
        let mut idx = lo.clone();
        loop {
            let src: usize = (0..nd).map(|d| (idx[d] - origin[d]) * cstride[d]).sum();
            let out: usize = (0..nd).map(|d| (idx[d] - ext[d].start) * ostride[d]).sum();
            f(src, out, run)?;
            // Odometer over all dimensions but the last.
            let mut d = nd - 1;
            loop {
                if d == 0 {
                    return Some(());
                }
                d -= 1;
                idx[d] += 1;
                if idx[d] < hi[d] {
                    break;
                }
                idx[d] = lo[d];
            }
        }
    }
}

/// The block being filled by parallel tasks: `parts` buffers of `part_len`
/// elements, addressed as one.
struct SharedOut<T> {
    parts: Vec<*mut T>,
    part_len: usize,
}

// SAFETY: tasks write disjoint element ranges (chunks partition the block).
unsafe impl<T: Send> Send for SharedOut<T> {}
unsafe impl<T: Send> Sync for SharedOut<T> {}

impl<T> SharedOut<T> {
    /// Elements `start..start + n` of the block, which must lie in one part.
    ///
    /// # Safety
    /// No two live slices may overlap.
    #[allow(clippy::mut_from_ref)]
    unsafe fn slice(&self, start: usize, n: usize) -> &mut [T] {
        let (part, off) = (start / self.part_len, start % self.part_len);
        assert!(
            part < self.parts.len() && off + n <= self.part_len,
            "run inside one part of the block"
        );
        std::slice::from_raw_parts_mut(self.parts[part].add(off), n)
    }
}

/// Byte buffers of decoded chunks kept for reuse: fresh large allocations
/// are page-faulted in by the kernel, which costs as much as a fast inflate.
#[derive(Debug, Default)]
struct Spare(std::sync::Mutex<Vec<Vec<u8>>>);

/// Most bytes [`Spare`] keeps.
const SPARE_BYTES: usize = 128 << 20;

impl Spare {
    /// A buffer of `len` bytes (contents unspecified).
    fn take(&self, len: usize) -> Vec<u8> {
        let found = self.0.lock().ok().and_then(|mut v| {
            let i = v.iter().position(|b| b.capacity() >= len)?;
            Some(v.swap_remove(i))
        });
        let mut buf = found.unwrap_or_default();
        buf.resize(len, 0);
        buf
    }

    fn put(&self, buf: Vec<u8>) {
        if let Ok(mut v) = self.0.lock() {
            let held: usize = v.iter().map(Vec::capacity).sum();
            if held + buf.capacity() <= SPARE_BYTES {
                v.push(buf);
            }
        }
    }
}

/// Whether HDF5's addresses in `file` are offsets in the file: no user
/// block moves the HDF5 data (and so its base address) further in.
unsafe fn plain_offsets(file: hid_t) -> bool {
    let fcpl = H5Fget_create_plist(file);
    if fcpl < 0 {
        return false;
    }
    let _fcpl = Guard(fcpl, H5Pclose);
    let mut userblock: hsize_t = 1;
    H5Pget_userblock(fcpl, &mut userblock) >= 0 && userblock == 0
}

/// The dataset's current dimensions.
unsafe fn dataset_extent(dset: hid_t) -> Option<Vec<usize>> {
    let space = H5Dget_space(dset);
    if space < 0 {
        return None;
    }
    let _space = Guard(space, H5Sclose);
    let nd = H5Sget_simple_extent_ndims(space);
    if nd < 1 {
        return None;
    }
    let mut dims = vec![0 as hsize_t; nd as usize];
    if H5Sget_simple_extent_dims(space, dims.as_mut_ptr(), std::ptr::null_mut()) != nd {
        return None;
    }
    Some(dims.iter().map(|&d| d as usize).collect())
}

/// Checks that the dataset's type is `kind`; returns (big-endian, size).
unsafe fn stored_type(dset: hid_t, kind: Kind) -> Option<(bool, usize)> {
    let ty = H5Dget_type(dset);
    if ty < 0 {
        return None;
    }
    let _ty = Guard(ty, H5Tclose);
    let class = H5Tget_class(ty);
    let size = H5Tget_size(ty);
    let matches = match kind {
        Kind::F32 | Kind::F64 => class == H5T_class_t::H5T_FLOAT,
        Kind::I16 => class == H5T_class_t::H5T_INTEGER && H5Tget_sign(ty) == H5T_sign_t::H5T_SGN_2,
    };
    if !matches || size != kind.size() {
        return None;
    }
    let big_endian = match H5Tget_order(ty) {
        H5T_order_t::H5T_ORDER_LE => false,
        H5T_order_t::H5T_ORDER_BE => true,
        _ => return None,
    };
    Some((big_endian, size))
}

/// The filter pipeline, if every filter is one this module decodes.
unsafe fn filter_pipeline(dcpl: hid_t, elem: usize) -> Option<Vec<Filter>> {
    let n = H5Pget_nfilters(dcpl);
    if n < 0 {
        return None;
    }
    let mut filters = Vec::with_capacity(n as usize);
    for i in 0..n as c_uint {
        let mut flags: c_uint = 0;
        let mut nelmts: usize = 8;
        let mut cd = [0 as c_uint; 8];
        let mut name = [0 as std::os::raw::c_char; 64];
        let mut config: c_uint = 0;
        let id = H5Pget_filter2(
            dcpl,
            i,
            &mut flags,
            &mut nelmts,
            cd.as_mut_ptr(),
            name.len(),
            name.as_mut_ptr(),
            &mut config,
        );
        filters.push(match id {
            H5Z_FILTER_DEFLATE => Filter::Deflate,
            // HDF5 fills in the element size itself when the dataset is created.
            H5Z_FILTER_SHUFFLE => Filter::Shuffle(if nelmts >= 1 && cd[0] > 0 {
                cd[0] as usize
            } else {
                elem
            }),
            H5Z_FILTER_FLETCHER32 => Filter::Fletcher32,
            _ => return None,
        });
    }
    Some(filters)
}

/// What unallocated chunks read as through `H5Dread` (and so netCDF).
unsafe fn fill_value(dcpl: hid_t, dset: hid_t, size: usize) -> Option<Fill> {
    let mut status = H5D_fill_value_t::H5D_FILL_VALUE_ERROR;
    let mut time = H5D_fill_time_t::H5D_FILL_TIME_ERROR;
    if H5Pfill_value_defined(dcpl, &mut status) < 0 || H5Pget_fill_time(dcpl, &mut time) < 0 {
        return None;
    }
    let defined = matches!(
        status,
        H5D_fill_value_t::H5D_FILL_VALUE_DEFAULT | H5D_fill_value_t::H5D_FILL_VALUE_USER_DEFINED
    );
    // HDF5 skips missing chunks in these cases, leaving the buffer as it was.
    if time == H5D_fill_time_t::H5D_FILL_TIME_NEVER
        || (time == H5D_fill_time_t::H5D_FILL_TIME_IFSET && !defined)
    {
        return Some(Fill::Unpredictable);
    }
    if !defined {
        return Some(Fill::Unpredictable);
    }
    let ty = H5Dget_type(dset);
    if ty < 0 {
        return None;
    }
    let _ty = Guard(ty, H5Tclose);
    let mut one = vec![0u8; size];
    if H5Pget_fill_value(dcpl, ty, one.as_mut_ptr().cast::<c_void>()) < 0 {
        return None;
    }
    Some(Fill::Value(Decoded::interleaved(one)))
}

/// Undoes the filter pipeline on one stored chunk; `None` on any failure or
/// if the result is not `want` bytes. A final unshuffle of whole elements is
/// left to the conversion.
fn decode(
    raw: Vec<u8>,
    mask: c_uint,
    filters: &[Filter],
    want: usize,
    elem: usize,
    spare: &Spare,
) -> Option<Decoded> {
    let applied: Vec<Filter> = filters
        .iter()
        .enumerate()
        // A set mask bit: that optional filter was skipped when the chunk was written.
        .filter(|(i, _)| *i >= 32 || mask & (1 << i) == 0)
        .map(|(_, f)| *f)
        .collect();
    let mut buf = raw;
    let mut planar = false;
    for (i, f) in applied.iter().enumerate().rev() {
        buf = match *f {
            // Room for checksums of filters applied before deflate.
            Filter::Deflate => {
                let out = inflate(&buf, spare.take(want + 4 * filters.len()))?;
                spare.put(buf);
                out
            }
            Filter::Shuffle(size) if i == 0 && size == elem && buf.len() == want => {
                planar = size > 1;
                buf
            }
            Filter::Shuffle(size) => unshuffle(&buf, size),
            Filter::Fletcher32 => strip_fletcher32(buf)?,
        };
    }
    (buf.len() == want).then_some(Decoded { bytes: buf, planar })
}

/// Inflates a zlib stream into `out` (as long as the most it may hold).
fn inflate(input: &[u8], mut out: Vec<u8>) -> Option<Vec<u8>> {
    thread_local! {
        static INFLATER: std::cell::RefCell<libdeflater::Decompressor> =
            std::cell::RefCell::new(libdeflater::Decompressor::new());
    }
    let n = INFLATER
        .with(|d| d.borrow_mut().zlib_decompress(input, &mut out))
        .ok()?;
    out.truncate(n);
    Some(out)
}

/// Reverses HDF5's byte shuffle: byte `j` of element `i` was stored at
/// `j * n + i`; trailing bytes that make no whole element are kept as they are.
fn unshuffle(src: &[u8], size: usize) -> Vec<u8> {
    let n = src.len() / size.max(1);
    if size <= 1 || n <= 1 {
        return src.to_vec();
    }
    let mut out = vec![0u8; src.len()];
    match size {
        4 => {
            let (p0, rest) = src.split_at(n);
            let (p1, rest) = rest.split_at(n);
            let (p2, p3) = rest.split_at(n);
            for (i, o) in out[..4 * n].chunks_exact_mut(4).enumerate() {
                o.copy_from_slice(&[p0[i], p1[i], p2[i], p3[i]]);
            }
        }
        2 => {
            let (p0, p1) = src.split_at(n);
            for (i, o) in out[..2 * n].chunks_exact_mut(2).enumerate() {
                o.copy_from_slice(&[p0[i], p1[i]]);
            }
        }
        _ => {
            for j in 0..size {
                let plane = &src[j * n..(j + 1) * n];
                for (i, &b) in plane.iter().enumerate() {
                    out[i * size + j] = b;
                }
            }
        }
    }
    out[size * n..].copy_from_slice(&src[size * n..]);
    out
}

/// Verifies and removes the Fletcher-32 checksum HDF5 appends to a chunk.
fn strip_fletcher32(mut buf: Vec<u8>) -> Option<Vec<u8>> {
    let n = buf.len().checked_sub(4)?;
    let stored = u32::from_le_bytes(buf[n..].try_into().ok()?);
    let sum = fletcher32(&buf[..n]);
    // HDF5 also accepts the byte-reversed sum that its early versions wrote.
    if stored != sum && stored != sum.swap_bytes() {
        return None;
    }
    buf.truncate(n);
    Some(buf)
}

/// HDF5's Fletcher-32 (`H5_checksum_fletcher32`): big-endian 16-bit words,
/// sums folded every 360 words.
fn fletcher32(data: &[u8]) -> u32 {
    let (mut sum1, mut sum2) = (0u32, 0u32);
    let mut words = data.chunks_exact(2);
    loop {
        let mut any = false;
        for w in words.by_ref().take(360) {
            any = true;
            sum1 += (u32::from(w[0]) << 8) | u32::from(w[1]);
            sum2 += sum1;
        }
        if !any {
            break;
        }
        sum1 = (sum1 & 0xffff) + (sum1 >> 16);
        sum2 = (sum2 & 0xffff) + (sum2 >> 16);
    }
    if let [last] = words.remainder() {
        sum1 += u32::from(*last) << 8;
        sum2 += sum1;
        sum1 = (sum1 & 0xffff) + (sum1 >> 16);
        sum2 = (sum2 & 0xffff) + (sum2 >> 16);
    }
    sum1 = (sum1 & 0xffff) + (sum1 >> 16);
    sum2 = (sum2 & 0xffff) + (sum2 >> 16);
    (sum2 << 16) | sum1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unshuffle_inverts_the_byte_shuffle() {
        for size in [1usize, 2, 4, 8, 3] {
            let n = 37;
            // Plus size - 1 trailing bytes that make no whole element.
            let data: Vec<u8> = (0..size * n + size - 1)
                .map(|i| (i * 7 % 251) as u8)
                .collect();
            let mut shuffled = data.clone();
            for i in 0..n {
                for j in 0..size {
                    shuffled[j * n + i] = data[i * size + j];
                }
            }
            assert_eq!(unshuffle(&shuffled, size), data, "size {size}");
        }
    }

    #[test]
    fn fletcher32_checks_and_strips() {
        // Agreement with HDF5 itself is tested on files in tests/netcdf_direct.rs.
        let data = b"abcdefg".to_vec();
        let sum = fletcher32(&data);
        assert_ne!(sum, fletcher32(b"abcdefh"));
        for stored in [sum, sum.swap_bytes()] {
            let mut chunk = data.clone();
            chunk.extend_from_slice(&stored.to_le_bytes());
            assert_eq!(strip_fletcher32(chunk).unwrap(), data);
        }
        let mut bad = b"abcdefh".to_vec();
        bad.extend_from_slice(&sum.to_le_bytes());
        assert!(strip_fletcher32(bad).is_none());
    }

    #[test]
    fn converts_like_netcdf_from_interleaved_and_planar_bytes() {
        let inter = Decoded {
            bytes: vec![0xff, 0xfe, 0x00, 0x10, 0x80, 0x00],
            planar: false,
        };
        let mut out = [0f64; 2];
        f64::convert(Kind::I16, true, &inter.view(2), 1, &mut out);
        assert_eq!(out, [16.0, -32768.0]);
        // The same three big-endian int16 (-2, 16, -32768), byte-shuffled.
        let planar = Decoded {
            bytes: vec![0xff, 0x00, 0x80, 0xfe, 0x10, 0x00],
            planar: true,
        };
        let mut out = [0f64; 3];
        f64::convert(Kind::I16, true, &planar.view(2), 0, &mut out);
        assert_eq!(out, [-2.0, 16.0, -32768.0]);
        let one = Decoded {
            bytes: 1.5f32.to_le_bytes().to_vec(),
            planar: false,
        };
        let mut out = [0f32; 1];
        f32::convert(Kind::F32, false, &one.view(4), 0, &mut out);
        assert_eq!(out, [1.5]);
        assert!(!f32::supports(Kind::I16) && !f32::supports(Kind::F64));
    }
}

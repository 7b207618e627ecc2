# Every C++ declaration the binding uses, in one place (csrc/turborle.hpp and the headers it
# names). Core functions raise through raise_core_error: bad input becomes turborle.RLEError.
from libc.stdint cimport int64_t, uint8_t, uint64_t
from libcpp.string cimport string
from libcpp.vector cimport vector

cdef extern from "_errors.hpp" namespace "turborle":
    # Raises the Python exception for the C++ exception being handled (see _errors.hpp).
    int raise_core_error() except -1
    void set_input_error_factory(object factory)

cdef extern from "_pixels.hpp":
    # numpy's memory handler for large decode outputs (see _pixels.hpp), or None.
    object turborle_pixel_handler()

cdef extern from "parallel.hpp" namespace "turborle" nogil:
    size_t pool_size()
    uint64_t fork_generation()

cdef extern from "simd.hpp" namespace "turborle" nogil:
    enum class Isa(int):
        kScalar
        kNeon
        kAvx2
        kAvx512

    Isa detect_isa()
    const char* isa_name(Isa isa)
    Isa parse_isa(const string& name) except +raise_core_error

cdef extern from "turborle.hpp" namespace "turborle" nogil:
    const size_t kLargeArrayBytes
    void release_kept_memory()

    cdef cppclass Config:
        Isa isa
        int threads
        uint64_t max_pixels

    ctypedef uint64_t count_t

    cdef cppclass Batch:
        vector[uint64_t] h
        vector[uint64_t] w
        vector[uint64_t] offsets
        vector[count_t] counts
        size_t size()
        void close(uint64_t height, uint64_t width)

    cdef cppclass BatchView:
        BatchView()
        BatchView(const Batch&)

    cdef cppclass Source:
        const char* data
        size_t len
        const count_t* counts
        size_t m
        uint64_t h
        uint64_t w

    cdef cppclass MaskView:
        const uint8_t* data
        uint64_t n, h, w
        int64_t stride_n, stride_y, stride_x

    enum class Order:
        kColumnMajor
        kRowMajor

    enum class MergeOp:
        kUnion
        kIntersection
        kXor
        kDifference

    void check_size(uint64_t h, uint64_t w) except +raise_core_error
    void check_pixel_limit(uint64_t h, uint64_t w, const Config& cfg, size_t index) except +raise_core_error
    Batch read_sources(const Source* sources, size_t n, const Config& cfg) except +raise_core_error
    Batch from_columns(const count_t* counts, size_t m, const uint64_t* offsets,
                       const uint64_t* h, const uint64_t* w, size_t n) except +raise_core_error
    Batch take(BatchView b, const uint64_t* index, size_t k) except +raise_core_error
    void append(Batch& out, BatchView b) except +raise_core_error
    void write_strings(BatchView b, string& out, vector[size_t]& offsets,
                       const Config& cfg) except +raise_core_error
    Batch read_fal(const Source* texts, size_t n, uint64_t base, bint row_major,
                   const Config& cfg) except +raise_core_error
    void write_fal(BatchView b, uint64_t base, bint row_major, vector[string]& out,
                   const Config& cfg) except +raise_core_error
    Batch encode(const MaskView& masks, const Config& cfg) except +raise_core_error
    void decode(BatchView b, uint8_t* out, Order order, const Config& cfg) except +raise_core_error
    void area(BatchView b, uint64_t* out, const Config& cfg) except +raise_core_error
    void bbox(BatchView b, double* out, const Config& cfg) except +raise_core_error
    void measure_sources(const Source* sources, size_t n, uint64_t* area, double* bbox,
                         const Config& cfg) except +raise_core_error
    void iou(BatchView dt, BatchView gt, const uint8_t* iscrowd, double* out,
             const Config& cfg) except +raise_core_error
    enum class IouPath:
        kChoose
        kSweep
        kPlanes
    void iou_by(BatchView dt, BatchView gt, const uint8_t* iscrowd, double* out,
                const Config& cfg, IouPath path) except +raise_core_error
    void box_iou(const double* dt, size_t m, const double* gt, size_t n,
                 const uint8_t* iscrowd, double* out) except +raise_core_error
    Batch merge(BatchView b, MergeOp op, const Config& cfg) except +raise_core_error
    Batch complement(BatchView b, const Config& cfg) except +raise_core_error
    Batch rasterize_polygons(const double* const* xy, const size_t* k, size_t n, uint64_t h,
                             uint64_t w) except +raise_core_error
    Batch rasterize_boxes(const double* boxes, size_t n, uint64_t h, uint64_t w) except +raise_core_error



# ==== mask operations (csrc/ops.hpp) ==========================================================
cdef extern from "ops.hpp" namespace "turborle" nogil:
    enum class RegionMode:
        kHoles
        kIslands

    enum class Shape:
        kSquare
        kCross
        kDisk

    enum class Morphology:
        kDilate
        kErode
        kOpen
        kClose

    cdef cppclass Rings:
        vector[int64_t] xy
        vector[uint64_t] ring_start
        vector[uint64_t] mask_start

    Batch connected_components(BatchView b, int connectivity, vector[uint64_t]& owner,
                               const Config& cfg) except +raise_core_error
    Batch largest_component(BatchView b, int connectivity, const Config& cfg) except +raise_core_error
    Batch fill_holes(BatchView b, uint64_t max_area, int connectivity, const Config& cfg) except +raise_core_error
    Batch remove_small_islands(BatchView b, uint64_t min_area, int connectivity,
                               const Config& cfg) except +raise_core_error
    Batch remove_small_regions(BatchView b, uint64_t area_threshold, RegionMode mode,
                               uint8_t* changed, const Config& cfg) except +raise_core_error
    Batch morphology(BatchView b, Morphology op, Shape shape, uint64_t size,
                     const Config& cfg) except +raise_core_error
    Batch crop(BatchView b, const int64_t* boxes, bint per_mask, const Config& cfg) except +raise_core_error
    Batch pad(BatchView b, uint64_t top, uint64_t bottom, uint64_t left, uint64_t right,
              const Config& cfg) except +raise_core_error
    Batch flip(BatchView b, int axis, const Config& cfg) except +raise_core_error
    Batch transpose(BatchView b, const Config& cfg) except +raise_core_error
    Batch rot90(BatchView b, int64_t k, const Config& cfg) except +raise_core_error
    Batch resize(BatchView b, uint64_t h, uint64_t w, const Config& cfg) except +raise_core_error
    void to_rings(BatchView b, int connectivity, double tolerance, Rings& out,
                  const Config& cfg) except +raise_core_error
    Batch from_rings(const double* xy, const uint64_t* ring_start, const uint64_t* mask_start,
                     size_t n, const uint64_t* h, const uint64_t* w, const Config& cfg) except +raise_core_error

cdef extern from "sa1b_json.hpp" namespace "turborle" nogil:
    cdef cppclass AnnotationColumns:
        string counts
        vector[int64_t] counts_end
        vector[uint8_t] has_mask
        vector[int64_t] height
        vector[int64_t] width
        vector[int64_t] ann_id
        vector[int64_t] category_id
        vector[uint8_t] has_ann_id
        vector[uint8_t] has_category_id
        vector[double] stored_area
        vector[uint8_t] has_stored_area
        vector[double] stored_bbox
        vector[uint8_t] has_stored_bbox
        string extra
        vector[int64_t] extra_end
        vector[uint8_t] has_extra
        size_t rows()
        AnnotationColumns take() except +raise_core_error
        void add(const char* counts, size_t counts_len, int64_t h, int64_t w,
                 const int64_t* ann_id, const int64_t* category_id, const double* stored_area,
                 const double* stored_bbox, const char* extra,
                 size_t extra_len) except +raise_core_error

    cdef cppclass ImageFacts:
        string record
        bint has_id
        int64_t id

    cdef cppclass Sa1bReader:
        Sa1bReader() except +raise_core_error
        long read(const char* data, size_t size, AnnotationColumns& out,
                  ImageFacts& image) except +raise_core_error

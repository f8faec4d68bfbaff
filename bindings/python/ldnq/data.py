"""Datasets, transforms, limited subsets, loaders and evaluation (data.h)."""
import ctypes
import enum
import os

import numpy as np

from . import _check
from . import comm as _comm
from . import _types as T
from ._callback import CallbackGuard, run_guarded
from ._handle import Handle, decode, encode, new_ptr
from ._lib import fn
from .errors import check
from .tensor import Tensor, ptr


class Preset(enum.IntEnum):
    NONE = 0
    CIFAR10 = 1
    IMAGENET = 2
    FASHION_MNIST = 3
    MNIST = 4


class Split(enum.IntEnum):
    TRAIN = 0
    TEST = 1


class DatasetOption(enum.IntEnum):
    JPEG_DCT_SCALING = 0


class LoaderOption(enum.IntEnum):
    SHUFFLE = 0
    DROP_LAST = 1
    AUGMENT = 2
    THREADS = 3
    QUEUE_DEPTH = 4
    SEED = 5


def _split(split):
    if isinstance(split, str):
        return Split.TRAIN if split == "train" else Split.TEST
    return Split(int(split))


def _progress_guard(progress):
    """(guard, C function pointer) for a Python progress(done, total)."""
    if progress is None:
        return None, T.DATA_PROGRESS_FN()
    g = CallbackGuard(progress)
    return g, T.DATA_PROGRESS_FN(lambda _ud, done, total: g.call(done, total))


class Dataset(Handle):
    """A dataset handle. Views (subset()) and loaders keep the C dataset
    alive; the Python objects also keep their parent, so a Python sample
    callback stays alive as long as anything uses it."""

    _free = staticmethod(fn.dataset_free)
    _errmsg = staticmethod(fn.dataset_errmsg)

    @classmethod
    def _make(cls, call, keep=()):
        out = new_ptr(T.Dataset_)
        check(call(ctypes.byref(out)))
        return cls(out, keep)

    @classmethod
    def open_idx(cls, images_path, labels_path):
        return cls._make(lambda o: fn.dataset_open_idx(encode(os.fspath(images_path)),
                                                       encode(os.fspath(labels_path)), o))

    @classmethod
    def open_cifar10(cls, directory, split="train"):
        return cls._make(lambda o: fn.dataset_open_cifar10(encode(os.fspath(directory)),
                                                           int(_split(split)), o))

    @classmethod
    def open_imagefolder(cls, root):
        return cls._make(lambda o: fn.dataset_open_imagefolder(encode(os.fspath(root)), o))

    @classmethod
    def open(cls, spec, split="train"):
        """ldnq_dataset_open_spec: "cifar10:DIR", "fashion-mnist[:DIR]", ..."""
        return cls._make(lambda o: fn.dataset_open_spec(encode(spec), int(_split(split)), o))

    @classmethod
    def from_callback(cls, count, channels, height, width, num_classes, sample):
        """Dataset whose samples come from sample(index) -> (image, label),
        image any array of channels*height*width values ([C,H,W]). It may be
        called from loader threads (set LoaderOption.THREADS to 0 to keep it
        on the caller's thread). An exception in it makes the calling
        function fail; the exception is re-raised where the binding can
        (Dataset.get, Loader.next, evaluate), else CallbackError."""
        n = channels * height * width

        def fill(index, image, label):
            img, lab = sample(int(index))
            a = _check.array(img, "sample %d image" % index, np.float32).reshape(-1)
            if a.size != n:
                raise ValueError("sample %d has %d values, expected %d" % (index, a.size, n))
            ctypes.memmove(image, a.ctypes.data, n * 4)
            label[0] = int(lab)

        guard = CallbackGuard(fill)
        cfn = T.SAMPLE_FN(lambda _ud, index, image, label: guard.call(index, image, label))
        ds = cls._make(lambda o: fn.dataset_create_callback(
            int(count), int(channels), int(height), int(width), int(num_classes), cfn, None, o),
            keep=[cfn])
        ds._guard = guard
        return ds

    def _guards(self):
        g = getattr(self, "_guard", None)
        parent = getattr(self, "_parent", None)
        return ([g] if g else []) + (parent._guards() if parent is not None else [])

    def __len__(self):
        v = ctypes.c_int64()
        check(fn.dataset_count(self.handle, ctypes.byref(v)))
        return v.value

    @property
    def num_classes(self):
        v = ctypes.c_int()
        check(fn.dataset_num_classes(self.handle, ctypes.byref(v)))
        return v.value

    def class_names(self):
        out = []
        for i in range(self.num_classes):
            s = ctypes.c_char_p()
            check(fn.dataset_class_name(self.handle, i, ctypes.byref(s)))
            out.append(decode(s.value))
        return out

    @property
    def sample_shape(self):
        c, h, w = ctypes.c_int(), ctypes.c_int(), ctypes.c_int()
        check(fn.dataset_sample_shape(self.handle, ctypes.byref(c), ctypes.byref(h),
                                      ctypes.byref(w)))
        return c.value, h.value, w.value

    def label(self, index):
        v = ctypes.c_int32()
        check(fn.dataset_label(self.handle, int(index), ctypes.byref(v)))
        return v.value

    @property
    def preset(self):
        v = ctypes.c_int()
        self._check(fn.dataset_get_preset(self.handle, ctypes.byref(v)))
        return Preset(v.value)

    @preset.setter
    def preset(self, p):
        self._check(fn.dataset_set_preset(self.handle, int(p)))

    def set_option(self, option, value):
        o = _check.option(DatasetOption, option, "dataset")
        self._check(fn.dataset_set_option(self.handle, int(o), _check.integer(value, "dataset option %s" % o)))

    def get(self, index, transform=None, seed=0):
        """(image [C,H,W] float32 array, label) after `transform`."""
        img = new_ptr(T.Tensor_)
        lab = ctypes.c_int32()
        run_guarded(self._guards(), lambda: fn.dataset_get(
            self.handle, int(index), transform.handle if transform else None, int(seed),
            ctypes.byref(img), ctypes.byref(lab)), check)
        with Tensor(img) as t:
            return t.to_numpy(), lab.value

    def __getitem__(self, index):
        return self.get(index)

    def subset(self, subset):
        """Dataset view restricted to a Subset's indices."""
        out = new_ptr(T.Dataset_)
        self._check(fn.dataset_subset(self.handle, subset.handle, ctypes.byref(out)))
        view = Dataset(out, keep=[self])
        view._parent = self
        return view

    def sample_subset(self, ratio=0.01, count=0, class_balanced=False, seed=0):
        return Subset.sample(self, ratio, count, class_balanced, seed)


class Transform(Handle):
    """A sequence of torchvision-like steps; add_* return self to chain."""

    _free = staticmethod(fn.transform_free)

    @classmethod
    def create(cls):
        out = new_ptr(T.Transform_)
        check(fn.transform_create(ctypes.byref(out)))
        return cls(out)

    @classmethod
    def preset(cls, preset, train=False):
        out = new_ptr(T.Transform_)
        check(fn.transform_create_preset(int(preset), int(bool(train)), ctypes.byref(out)))
        return cls(out)

    def copy(self):
        out = new_ptr(T.Transform_)
        check(fn.transform_copy(self.handle, ctypes.byref(out)))
        return Transform(out)

    def _add(self, status):
        check(status)
        return self

    def resize(self, size):
        return self._add(fn.transform_add_resize(self.handle, int(size)))

    def center_crop(self, height, width=None):
        return self._add(fn.transform_add_center_crop(self.handle, int(height),
                                                      int(height if width is None else width)))

    def random_resized_crop(self, size):
        return self._add(fn.transform_add_random_resized_crop(self.handle, int(size)))

    def random_crop(self, size, pad=0):
        return self._add(fn.transform_add_random_crop(self.handle, int(size), int(pad)))

    def pad(self, pad):
        return self._add(fn.transform_add_pad(self.handle, int(pad)))

    def hflip(self, p=0.5):
        return self._add(fn.transform_add_hflip(self.handle, float(p)))

    def normalize(self, mean, std):
        m = _check.array(mean, "normalize mean", np.float32, ndim=1)
        s = _check.array(std, "normalize std", np.float32, shape=(m.size,))
        return self._add(fn.transform_add_normalize(self.handle, m.size, ptr(m), ptr(s)))


class Subset(Handle):
    """Indices of a limited calibration set."""

    _free = staticmethod(fn.subset_free)

    @classmethod
    def sample(cls, dataset, ratio=0.01, count=0, class_balanced=False, seed=0):
        out = new_ptr(T.Subset_)
        check(fn.subset_sample(dataset.handle, float(ratio), int(count), int(bool(class_balanced)),
                               int(seed), ctypes.byref(out)))
        return cls(out)

    @classmethod
    def from_indices(cls, indices):
        a = _check.array(indices, "subset indices", np.int64, ndim=1)
        out = new_ptr(T.Subset_)
        check(fn.subset_create(a.size, ptr(a), ctypes.byref(out)))
        return cls(out)

    @classmethod
    def load(cls, path):
        out = new_ptr(T.Subset_)
        check(fn.subset_load(encode(os.fspath(path)), ctypes.byref(out)))
        return cls(out)

    def save(self, path):
        check(fn.subset_save(self.handle, encode(os.fspath(path))))

    def __len__(self):
        v = ctypes.c_int64()
        check(fn.subset_count(self.handle, ctypes.byref(v)))
        return v.value

    @property
    def indices(self):
        """Read-only int64 numpy view of the indices (keeps the subset alive)."""
        n = len(self)
        p = ctypes.POINTER(ctypes.c_int64)()
        check(fn.subset_indices(self.handle, ctypes.byref(p)))
        if n == 0:
            return np.zeros(0, dtype=np.int64)
        buf = (ctypes.c_int64 * n).from_address(ctypes.addressof(p.contents))
        buf._ldnq_owner = self
        v = np.frombuffer(buf, dtype=np.int64)
        v.flags.writeable = False
        return v


class Loader(Handle):
    """Batches of (images [n,C,H,W] float32, labels [n] int32) over a
    dataset. Iterating yields one epoch; next_batch() returns None at the end
    of an epoch. Batches are copied out of the loader's buffers."""

    _free = staticmethod(fn.loader_free)
    _errmsg = staticmethod(fn.loader_errmsg)

    @classmethod
    def create(cls, dataset, batch_size, **options):
        out = new_ptr(T.Loader_)
        check(fn.loader_create(dataset.handle, int(batch_size), ctypes.byref(out)))
        ld = cls(out, keep=[dataset])
        ld._dataset = dataset
        ld._progress = (None, None)
        ld._comm = None
        for k, v in options.items():
            ld.set_option(k, v)
        return ld

    def _guards(self):
        return [self._progress[0]] + self._dataset._guards() + _comm._guards(self._comm)

    def set_comm(self, comm):
        """Shards evaluate() over comm's ranks (an ldnq.Comm; None: one
        process) and sums its counts: every rank gets the whole set's
        figures. Batches are then each rank's share of every batch."""
        _comm.set_comm(self, fn.loader_set_comm, comm)

    def set_option(self, option, value):
        """By LoaderOption or name ("threads"); unknown names raise
        InvalidArgError listing the valid ones, 1.5 or "2" InvalidArgError."""
        o = _check.option(LoaderOption, option, "loader")
        self._check(fn.loader_set_option(self.handle, int(o), _check.integer(value, "loader option %s" % o)))

    def set_transforms(self, train=None, eval=None):
        self._check(fn.loader_set_transforms(self.handle, train.handle if train else None,
                                             eval.handle if eval else None))

    def set_progress(self, progress):
        """progress(done, total) per batch; a true return cancels."""
        g, cfn = _progress_guard(progress)
        self._check(fn.loader_set_progress(self.handle, cfn, None))
        self._progress = (g, cfn)

    def __len__(self):
        v = ctypes.c_int64()
        self._check(fn.loader_num_batches(self.handle, ctypes.byref(v)))
        return v.value

    def next_batch(self):
        img = ctypes.POINTER(T.Tensor_)()
        lab = ctypes.POINTER(ctypes.c_int32)()
        n = ctypes.c_int64()
        run_guarded(self._guards(), lambda: fn.loader_next_v2(
            self.handle, ctypes.byref(img), ctypes.byref(lab), ctypes.byref(n)), self._check)
        if n.value == 0:
            return None
        view = Tensor._borrowed(img, self)
        images = view.to_numpy()
        view.close()
        labels = np.ctypeslib.as_array(lab, shape=(n.value,)).copy()
        return images, labels

    def __iter__(self):
        while True:
            b = self.next_batch()
            if b is None:
                return
            yield b

    def reset(self, epoch=0):
        self._check(fn.loader_reset(self.handle, int(epoch)))


def evaluate(network, loader, progress=None):
    """(top1, top5, images) of `network` over one epoch of `loader`.
    progress(done, total), if given, replaces the loader's progress for this
    call (the C library registers progress on the loader:
    ldnq_loader_set_progress + ldnq_evaluate_v2)."""
    before = loader._progress
    if progress is not None:
        loader.set_progress(progress)
    t1, t5, n = ctypes.c_double(), ctypes.c_double(), ctypes.c_int64()
    try:
        run_guarded(loader._guards(), lambda: fn.evaluate_v2(
            network.handle, loader.handle, ctypes.byref(t1), ctypes.byref(t5),
            ctypes.byref(n)), network._check)
    finally:
        if progress is not None:
            loader._check(fn.loader_set_progress(
                loader.handle, before[1] if before[1] else T.DATA_PROGRESS_FN(), None))
            loader._progress = before
    return t1.value, t5.value, n.value

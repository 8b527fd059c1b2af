"""The colour-ambiguity rule of the 2-D image functions.

A 3-D array whose last axis has length 3 or 4 is most likely a colour image
(RGB, RGBA), but it is also a valid stack of narrow images.  Guessing either
way gives a silently wrong answer for the other, so a 2-D filter given such
an input with neither ``axes`` nor ``channel_axis`` raises ``ValueError``
naming both (``imfilt._geometry.check_colour_ambiguity`` is the same rule
for N-D filters, whose other reading is a volume).
"""

__all__ = ["looks_like_colour", "colour_error", "check_colour_ambiguity"]


def looks_like_colour(shape):
    """True for the ambiguous shape: 3-D with a last axis of length 3 or 4."""
    return len(shape) == 3 and shape[-1] in (3, 4)


def colour_error(func, shape, stack="axes=(1, 2)", name="image"):
    """The ValueError for an ambiguous ``(H, W, 3 or 4)`` input.

    ``stack`` is the argument that tells the caller's function the input is
    a stack of images instead (None: the function has no such reading).
    """
    other = (f", or {stack} if it is a stack of {shape[0]} images of shape "
             f"{tuple(shape[1:])}") if stack else ""
    return ValueError(
        f"{func}: {name} has shape {tuple(shape)}, which looks like a colour image (last "
        f"axis of length {shape[-1]}); pass channel_axis=-1 to filter each colour "
        f"channel{other}"
    )


def check_colour_ambiguity(shape, axes, channel_axis, func, stack="axes=(1, 2)", name="image"):
    """Raise :func:`colour_error` for an ambiguous shape with neither option given."""
    if axes is None and channel_axis is None and looks_like_colour(shape):
        raise colour_error(func, shape, stack, name)

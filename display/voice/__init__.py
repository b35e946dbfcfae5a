"""The board's voice: Vietnamese words for ticket calls and the clip pack that speaks them."""

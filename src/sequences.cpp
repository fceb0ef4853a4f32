#include "lti/sequences.h"
// The split is small enough to live inline in the header; this unit keeps the file layout
// one-concept-per-file and is where heavier sequence logic would go.

#include "lti/errors.h"
// Header-only types; this translation unit keeps the vtable of Error in one place.

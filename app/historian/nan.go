package historian

import "math"

var nan = math.NaN()

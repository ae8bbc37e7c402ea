# SPDX-License-Identifier: GPL-2.0-or-later
# bench/results/latest.png from run.sh's summary: bars of medians, error
# bars from the minimum to the 95th percentile.
#   gnuplot -e "datafile='F'; outfile='latest.png'" bench/plot.gp
set terminal pngcairo size 1500,520 font "sans,10"
set output outfile
set style fill solid 0.6 border -1
set boxwidth 0.6
set grid ytics
set yrange [0:*]
set ylabel "seconds"
set xtics rotate by -25 left nomirror
set bmargin 6
set multiplot layout 1,3 title "slurm-lxd job start (median; bars: min to p95)"
set title "one job: srun ... true, cached images"
plot datafile index 0 using 0:2:xtic(1) with boxes lc rgb "#4878a8" notitle, \
     '' index 0 using 0:2:3:4 with yerrorbars lc rgb "black" pt -1 notitle
set title "16 jobs at once: sbatch to payload"
plot datafile index 1 using 0:2:xtic(1) with boxes lc rgb "#6aa84f" notitle, \
     '' index 1 using 0:2:3:4 with yerrorbars lc rgb "black" pt -1 notitle
set title "array of 100; first job that pulls (large)"
plot datafile index 2 using 0:2:xtic(1) with boxes lc rgb "#c27c0e" notitle, \
     '' index 2 using 0:2:3:4 with yerrorbars lc rgb "black" pt -1 notitle
unset multiplot

# perf-write-side.gp - the plot of Documentation/performance.md's "The write
# side of the page path" (figures of 2026-12-05, copied from the tables
# there).  Regenerate: gnuplot Documentation/perf-write-side.gp
set terminal pngcairo size 1100,420 font "sans,10"
set output "Documentation/perf-write-side.png"
set multiplot layout 1,2

# live snapshot, base and new interleaved (load 4-7): median with the range of 3 runs
$snap << EOD
# MiB base_freeze lo hi new_freeze lo hi base_pause lo hi new_pause lo hi
256  7.8 6.8 7.8    6.5 5.1 13.0    13.9 8.7 17.5     11.9 10.4 22.6
1024 10.2 9.2 18.6  12.4 6.5 14.9   18.4 15.8 44.6    26.1 18.8 51.0
4096 31.1 15.4 63.9 17.6 11.7 35.4  181.6 152.9 307.6 130.7 79.8 163.3
EOD
set title "Live snapshot, program writing 10% of its pages every 50 ms"
set xlabel "memory (MiB)"
set ylabel "ms (log)"
set logscale xy 2
set xrange [180:5800]
set yrange [2:512]
set key top left
set grid
plot $snap using 1:2:3:4 with yerrorlines lw 2 title "criu freeze, before", \
     $snap using 1:5:6:7 with yerrorlines lw 2 title "criu freeze, now", \
     $snap using 1:8:9:10 with yerrorlines lw 2 dt 3 title "program's longest pause, before", \
     $snap using 1:11:12:13 with yerrorlines lw 2 dt 3 title "program's longest pause, now", \
     5 with lines dt 2 lc rgb "gray" title "goal 5 ms"

# copy ways: us a page, 512 MiB, best of 3
$ways << EOD
"readv 4 MiB runs"        2.06 0.67
"readv 1024 1-page runs"  2.13 0.77
"readv 1 page a call"     2.43 1.06
"vmsplice + splice"       1.61 0.10
EOD
unset logscale
set title "Copying pages out of a process (us a page)"
set xlabel ""
set ylabel "us a page"
set yrange [0:3]
set xrange [-0.5:3.5]
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set xtics rotate by -15
set key top right
plot $ways using 2:xtic(1) title "into a tmpfs file", \
     $ways using 3 title "the copy alone", \
     0.38 with lines dt 2 lc rgb "gray" title "memcpy"
unset multiplot

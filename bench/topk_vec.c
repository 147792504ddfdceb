/* topk_vec.c -- coco_sqlite_topk's brute-force scan against sqlite-vec's scalar distance
   function over the same table, same process:
       cc -O2 -std=c99 bench/topk_vec.c -o build/topk_vec -lsqlite3 -lpthread
       build/topk_vec N DIM /path/to/vec0.so DBFILE
   (sqlite-vec: `npm install sqlite-vec` gives node_modules/sqlite-vec-linux-x64/vec0.so).
   Three rounds; each prints both times and the best hit of each (they must agree). */
#define COCOINDEX_IMPLEMENTATION
#include "../cocoindex.h"
#include "../connectors/cocoindex_sqlite.h"
#include <sqlite3.h>
#include <time.h>
static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec/1e9;}
int main(int argc,char**argv){
  if(argc!=5){fprintf(stderr,"usage: topk_vec N DIM VEC0_SO DBFILE\n");return 2;}
  int N=atoi(argv[1]), D=atoi(argv[2]); sqlite3*db; char*m=NULL; int i,j;
  remove(argv[4]);
  sqlite3_open(argv[4],&db);
  sqlite3_exec(db,"PRAGMA page_size=16384; PRAGMA journal_mode=WAL;",0,0,0);
  char sql[256]; snprintf(sql,sizeof sql,"CREATE TABLE t(id INTEGER PRIMARY KEY, emb F32_BLOB(%d))",D);
  sqlite3_exec(db,sql,0,0,0);
  sqlite3_exec(db,"BEGIN",0,0,0);
  sqlite3_stmt*st; sqlite3_prepare_v2(db,"INSERT INTO t VALUES(?,?)",-1,&st,0);
  float*v=malloc(D*4); unsigned x=1;
  for(i=0;i<N;i++){for(j=0;j<D;j++){x=x*1664525u+1013904223u;v[j]=(float)((x>>8)/16777216.0-0.5);}
    sqlite3_bind_int(st,1,i);sqlite3_bind_blob(st,2,v,D*4,SQLITE_STATIC);sqlite3_step(st);sqlite3_reset(st);}
  sqlite3_finalize(st); sqlite3_exec(db,"COMMIT",0,0,0);
  sqlite3_db_config(db,SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION,1,(int*)0);
  if(sqlite3_load_extension(db,argv[3],0,&m)!=SQLITE_OK){printf("load: %s\n",m);return 1;}
  coco_arena*ar; coco_arena_create(0,&ar); coco_sqlite_hit hits[10]; size_t nh; char err[256];
  for(int rep=0;rep<3;rep++){
  double t0=now(); coco_arena_reset(ar);
  if(coco_sqlite_topk(db,"t","emb",v,D,10,COCO_SQLITE_COSINE,ar,hits,&nh,err,sizeof err)){printf("err %s\n",err);}
  double t1=now();
  sqlite3_prepare_v2(db,"SELECT id, vec_distance_cosine(emb, ?1) AS d FROM t ORDER BY d LIMIT 10",-1,&st,0);
  sqlite3_bind_blob(st,1,v,D*4,SQLITE_STATIC); long first=-1; double fd=0;
  while(sqlite3_step(st)==SQLITE_ROW){ if(first<0){first=sqlite3_column_int64(st,0);fd=sqlite3_column_double(st,1);} }
  sqlite3_finalize(st);
  double t2=now();
  printf("N=%d D=%d brute %.1f ms (best id %lld score %.4f) | sqlite-vec %.1f ms (best id %ld score %.4f)\n",N,D,(t1-t0)*1e3,(long long)hits[0].key.u.list.items[0].u.i,hits[0].score,(t2-t1)*1e3,first,1-fd);
  }
  return 0;}

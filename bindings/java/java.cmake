# SPDX-License-Identifier: MIT
# Java: package org.libchord (ChordSocket and friends, in src/) over the SWIG layer
# org.libchord.internal (generated into the build tree) and the JNI library
# chord_jni, named apart from libchord itself. The tests are a plain main
# (test/org/libchord/ChordSocketTest.java) that ends with "N passed, N failed".
find_package(Java 11 COMPONENTS Development Runtime)
if(NOT Java_FOUND)
  message(WARNING "bindings: no JDK found, no Java binding")
  return()
endif()
# jni.h from the JDK that javac belongs to: FindJNI also wants AWT, which headless
# JDKs (CI installs default-jdk-headless) do not ship.
get_filename_component(CHORD_JAVAC_REAL ${Java_JAVAC_EXECUTABLE} REALPATH)
get_filename_component(CHORD_JDK_HOME ${CHORD_JAVAC_REAL} DIRECTORY)
get_filename_component(CHORD_JDK_HOME ${CHORD_JDK_HOME} DIRECTORY)
find_path(CHORD_JNI_INCLUDE jni.h HINTS ${CHORD_JDK_HOME}/include NO_DEFAULT_PATH)
if(NOT CHORD_JNI_INCLUDE)
  message(WARNING "bindings: jni.h not found under ${CHORD_JDK_HOME}, no Java binding")
  return()
endif()

set(CHORD_JAVA_SRC ${CMAKE_CURRENT_SOURCE_DIR}/java)
set(CHORD_JAVA_ROOT ${CMAKE_CURRENT_BINARY_DIR}/java)
set(CHORD_JAVA_GEN ${CHORD_JAVA_ROOT}/gen)
chordb_swig(java ${CHORD_JAVA_GEN}/org/libchord/internal ${CHORD_JAVA_ROOT}/chord_java_wrap.cxx
            ${CHORD_JAVA_ROOT}/swig.stamp -package org.libchord.internal -module ChordNative)

add_library(chord_jni MODULE ${CHORD_JAVA_ROOT}/chord_java_wrap.cxx)
target_include_directories(chord_jni PRIVATE ${CHORD_JNI_INCLUDE} ${CHORD_JNI_INCLUDE}/linux)
target_link_libraries(chord_jni PRIVATE chordb)
target_compile_options(chord_jni PRIVATE ${CHORDB_WRAP_FLAGS} -Wno-strict-aliasing)
set_target_properties(chord_jni PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${CHORD_JAVA_ROOT})

file(GLOB CHORD_JAVA_SOURCES CONFIGURE_DEPENDS ${CHORD_JAVA_SRC}/src/org/libchord/*.java)
set(CHORD_JAVAC ${Java_JAVAC_EXECUTABLE} -encoding UTF-8 -Xlint:all -Werror)
add_custom_command(
  OUTPUT ${CHORD_JAVA_ROOT}/chord.jar
  COMMAND ${CMAKE_COMMAND} -E rm -rf ${CHORD_JAVA_ROOT}/classes
  # The generated classes come in through -sourcepath, as our sources use them.
  COMMAND ${CHORD_JAVAC} -d ${CHORD_JAVA_ROOT}/classes
          -sourcepath ${CHORD_JAVA_SRC}/src:${CHORD_JAVA_GEN} ${CHORD_JAVA_SOURCES}
  COMMAND ${Java_JAR_EXECUTABLE} cf ${CHORD_JAVA_ROOT}/chord.jar -C ${CHORD_JAVA_ROOT}/classes .
  DEPENDS ${CHORD_JAVA_SOURCES} ${CHORD_JAVA_ROOT}/swig.stamp
  COMMENT "Java binding: chord.jar"
  VERBATIM)
add_custom_command(
  OUTPUT ${CHORD_JAVA_ROOT}/tests.stamp
  COMMAND ${CMAKE_COMMAND} -E rm -rf ${CHORD_JAVA_ROOT}/test-classes
  COMMAND ${CHORD_JAVAC} -cp ${CHORD_JAVA_ROOT}/chord.jar -d ${CHORD_JAVA_ROOT}/test-classes
          ${CHORD_JAVA_SRC}/test/org/libchord/ChordSocketTest.java
          ${CHORD_JAVA_SRC}/example/Example.java
  COMMAND ${CMAKE_COMMAND} -E touch ${CHORD_JAVA_ROOT}/tests.stamp
  DEPENDS ${CHORD_JAVA_ROOT}/chord.jar ${CHORD_JAVA_SRC}/test/org/libchord/ChordSocketTest.java
          ${CHORD_JAVA_SRC}/example/Example.java
  VERBATIM)
add_custom_target(chord_java ALL DEPENDS ${CHORD_JAVA_ROOT}/chord.jar ${CHORD_JAVA_ROOT}/tests.stamp)
add_dependencies(chord_java chord_jni)

set(CHORD_JAVA_RUN ${Java_JAVA_EXECUTABLE} -Djava.library.path=${CHORD_JAVA_ROOT}
    -cp ${CHORD_JAVA_ROOT}/chord.jar:${CHORD_JAVA_ROOT}/test-classes)
add_test(NAME bindings_java COMMAND ${CHORD_JAVA_RUN} org.libchord.ChordSocketTest)
add_test(NAME bindings_java_example COMMAND ${CHORD_JAVA_RUN} Example)
set_tests_properties(bindings_java bindings_java_example PROPERTIES
  LABELS "bindings;java" TIMEOUT ${CHORD_BINDINGS_TEST_TIMEOUT})
